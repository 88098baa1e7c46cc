export { createStickyProxy } from './proxy'
export { createHealthChecker } from './health-checker'
export type {
  AttemptRecord,
  HealthChangeEvent,
  HealthCheckChange,
  HealthChecker,
  HealthCheckerOptions,
  ProxyError,
  ProxyOptions,
  ProxyResponseEvent,
  StickyProxy,
  StickyProxyOptions,
  XForwardedOptions,
} from './proxy'
