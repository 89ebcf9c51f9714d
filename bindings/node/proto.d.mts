export * from './proto.js';
export { default } from './proto.js';
