export * from './types';
export { createNodePlatform } from './node';
export { createRemotePlatform, type PlatformOp, type RemotePlatformOptions } from './remote';
export { deliverFile, type FileToDeliver } from './save';
