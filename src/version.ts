// The version, fixed at build time from package.json (scripts/build.mjs defines it).
declare const __BT_VERSION__: string | undefined;
export const BT_VERSION: string = typeof __BT_VERSION__ === 'string' ? __BT_VERSION__ : '0.0.0-dev';
