import { afterAll } from 'vitest';
import { removeTempDirs } from './agent.js';

// Every test file's temporary directories go when the file is done.
afterAll(() => removeTempDirs());
