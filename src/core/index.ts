export { Core, type CoreOptions, type Workspace } from './core';
export { APP_VERSION } from './version';
export { serveCore, type ServeCoreOptions } from './host/serve';
