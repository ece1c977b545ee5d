export { Core, type CoreOptions, type Workspace } from './core';
export { APP_VERSION } from './version';
