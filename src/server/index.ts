export {
  startBrowserCarrier,
  isLoopbackAddress,
  type BrowserCarrier,
  type BrowserCarrierOptions,
} from './browser-carrier';
