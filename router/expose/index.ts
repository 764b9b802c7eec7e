/** `weft expose` / `weft hide`: the host's address on the bridge and masquerading in table `ip weft`. */
export {
  type ExposeDeps,
  exposeHost,
  hideHost,
  readExposeState,
  removeExposeTable,
  runExposeSteps,
} from './apply.js';
export {
  type ExposePlan,
  type ExposeRequest,
  type ExposeState,
  type ExposeStep,
  type HideRequest,
  planExpose,
  planHide,
} from './plan.js';
export { EXPOSE_TABLE, exposedSubnetsOf, exposeRuleset } from './ruleset.js';
