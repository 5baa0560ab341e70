export declare const GLUE_OUTPUTS: readonly string[];
