// Declarations for `import ftWebsocket, { ftCmdID } from "ftapi"`.
export * from './index.js';
export { default } from './index.js';
