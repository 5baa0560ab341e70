export declare const GLUE_OUTPUTS: readonly string[];
export declare function installedFiles(dir: string): Map<string, string>;
