import { connect, type NatsConnection } from "@nats-io/transport-node";

/** A connection that keeps reconnecting forever: NATS being down is a state, not a crash (DESIGN §8). */
export function connectNats(url: string, name: string): Promise<NatsConnection> {
  return connect({
    servers: url,
    name,
    reconnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    waitOnFirstConnect: true,
    timeout: 2000,
  });
}
