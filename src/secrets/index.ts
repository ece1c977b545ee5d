export { createNodeSecretBox, type NodeSecretBoxOptions } from './node-secret-box';
export { sealWithKey, openWithKey } from './aes-gcm';
