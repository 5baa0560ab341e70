export declare const HOST: "127.0.0.1";
export declare function freePort(): Promise<number>;
export declare function canConnect(port: number): Promise<boolean>;
import type { ChildProcess } from "node:child_process";
export declare function exited(child: ChildProcess): boolean;
export declare function track(child: ChildProcess): void;
export declare function killChild(child: ChildProcess, graceMs?: number): Promise<void>;
export declare function untilListening(child: ChildProcess, port: number, timeoutMs: number, failure: () => Error | undefined): Promise<boolean>;
