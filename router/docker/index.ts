/** Docker Engine API access for `weft attach|detach <docker container>`. */
export { mustParseContainerRef } from './container-ref.js';
export { DEFAULT_DOCKER_SOCKET, dockerSocketPath } from './docker-host.js';
export { type ContainerInfo, DockerClient, type DockerClientOptions } from './engine-client.js';
