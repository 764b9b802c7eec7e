/** Docker Engine API access and attach targets for `weft attach|detach <target>`. */
export {
  type ParsedTarget,
  parseAttachTarget,
  type ResolvedTarget,
  resolveAttachTarget,
  type TargetDeps,
} from './attach-target.js';
export { mustParseContainerRef } from './container-ref.js';
export { DEFAULT_DOCKER_SOCKET, dockerSocketPath } from './docker-host.js';
export { type ContainerInfo, DockerClient, type DockerClientOptions } from './engine-client.js';
