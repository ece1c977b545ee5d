export { Core, type CoreOptions, type Workspace } from './core';
export { APP_VERSION } from './version';
export { UploadRegistry, type Upload, type UploadRegistryOptions } from './uploads';
export { serveCore, type ServeCoreOptions } from './host/serve';
// Where the app, browser mode and CLI keep the recent workspaces list (src/workspaces).
export { defaultRecentFile } from '../workspaces';
