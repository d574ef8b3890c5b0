// TEMPORARY until the cluster helper lands: seeds from the environment.
export function clusterSeeds(): string[] {
  return (process.env.STIPEND_TEST_CLUSTER ?? '').split(',').filter((s) => s !== '');
}
