import { Agent as HttpAgent } from 'node:http'
import type { AgentOptions, ClientRequest } from 'node:http'
import { Agent as HttpsAgent } from 'node:https'
import type { FastifyReplyFromOptions } from '@fastify/reply-from'
import { claimRequest } from './transport-probe'

type AddRequest = (this: HttpAgent, request: ClientRequest, options: unknown) => void

// Every agent calls it synchronously from the `ClientRequest` constructor (agentkeepalive and the
// proxy agents override it for the same reason); reusing a kept-alive socket happens inside it.
const addRequest = (HttpAgent.prototype as unknown as { addRequest: AddRequest }).addRequest

/** An agent that hands each request it takes to the attempt being sent, if any (`claimRequest`). */
class ObservedHttpAgent extends HttpAgent {
  constructor(options: AgentOptions) {
    super(options)
    ;(this as unknown as { addRequest: AddRequest }).addRequest = observedAddRequest
  }
}

class ObservedHttpsAgent extends HttpsAgent {
  constructor(options: AgentOptions) {
    super(options)
    ;(this as unknown as { addRequest: AddRequest }).addRequest = observedAddRequest
  }
}

function observedAddRequest(this: HttpAgent, request: ClientRequest, options: unknown): void {
  claimRequest(request)?.watchClientRequest(request)
  addRequest.call(this, request, options)
}

/** reply-from's agent defaults for its node:http transport (`getAgentOptions`), kept as they are. */
const REPLY_FROM_AGENT_DEFAULTS: AgentOptions = { keepAlive: true, keepAliveMsecs: 60_000, maxSockets: 2048, maxFreeSockets: 2048 }

/** The reply-from options the plugin registers, and what it must close itself. */
export interface Transport {
  readonly replyFrom: FastifyReplyFromOptions
  /** Destroys the plugin's own agents. */
  close(): void
}

/**
 * reply-from's options with observed agents for its node:http transport, built with reply-from's
 * own defaults and the application's `agentOptions`, so that the proxy sees which connection each
 * attempt took (a reused one that the peer closed is no fault of the peer's) and can stop the
 * request's idle timer while it waits on the client. Agents the application passes are left
 * alone, unobserved; undici (the default transport) is observed through its diagnostics channels.
 *
 * reply-from would send unix-socket requests through Node's global agent and destroys only the
 * `http:` and `https:` agents; the plugin destroys all of its agents on close.
 */
export function observedTransport(replyFrom: FastifyReplyFromOptions): Transport {
  const http = replyFrom.http
  if (http === undefined || http.agents !== undefined) return { replyFrom, close: () => undefined }
  const options: AgentOptions = { ...REPLY_FROM_AGENT_DEFAULTS, ...http.agentOptions }
  const agents = {
    'http:': new ObservedHttpAgent(options),
    'https:': new ObservedHttpsAgent(options),
    'unix+http:': new ObservedHttpAgent(options),
    'unix+https:': new ObservedHttpsAgent(options),
  }
  return {
    replyFrom: { ...replyFrom, http: { ...http, agents: agents as NonNullable<typeof http.agents> } },
    // The agents are the plugin's alone: whatever `destroyAgent` says, nobody else can close them.
    close: () => {
      for (const agent of Object.values(agents)) agent.destroy()
    },
  }
}
