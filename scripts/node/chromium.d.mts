export const CHROMIUM: string;
export const CHROMIUM_BASE_ARGS: string[];
export const CHROMIUM_ARGS: string[];
