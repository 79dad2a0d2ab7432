/**
 * `bottleneck/light.js`: Bottleneck without its Redis clustering (the build the Octokit plugins
 * import, so the bundle holds one copy). Same API as the package's main entry for local limiters.
 */
declare module 'bottleneck/light.js' {
  import Bottleneck from 'bottleneck'
  export default Bottleneck
}
