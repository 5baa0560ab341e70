export declare const HOST: "127.0.0.1";
export declare function freePort(): Promise<number>;
export declare function canConnect(port: number): Promise<boolean>;
