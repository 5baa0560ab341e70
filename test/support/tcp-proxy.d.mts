export interface ProxyFaults {
  /** Reset a connection once the server has sent it this many bytes... */
  cutAfterBytes?: number | undefined;
  /** ...for this many connections (default: all). */
  cutConnections?: number | undefined;
  /** Pass the server's bytes on at this rate. */
  bytesPerSecond?: number | undefined;
}

export interface FaultProxy {
  readonly port: number;
  /** git://127.0.0.1:PORT/NAME */
  url(name: string): string;
  /** The fault injection in force; change its fields to change the proxy's behaviour from now on. */
  readonly faults: ProxyFaults;
  readonly connections: number;
  readonly cuts: number;
  /** Bytes passed from the server to clients so far. */
  readonly serverBytes: number;
  /** Bytes the clients sent to the server so far. */
  readonly clientBytes: number;
  /** Closes every connection and the listener. */
  stop(): Promise<void>;
}

/**
 * A TCP proxy on 127.0.0.1:listenPort (0: a free port) in front of 127.0.0.1:targetPort: counts
 * connections and bytes, and can cut connections after N bytes of the server's answer and throttle it.
 */
export declare function startProxy(targetPort: number, faults?: ProxyFaults, listenPort?: number): Promise<FaultProxy>;
