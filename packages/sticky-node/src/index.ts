export { createStickyProxy } from './proxy'
export type {
  ProxyError,
  ProxyOptions,
  ProxyResponseEvent,
  StickyProxy,
  StickyProxyOptions,
  XForwardedOptions,
} from './proxy'
