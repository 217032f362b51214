/** The part of jstat (no types published) that noise.ts uses. */
declare module 'jstat' {
  const jStat: { studentt: { inv(p: number, dof: number): number } };
  export default jStat;
}
