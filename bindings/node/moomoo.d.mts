export * from './moomoo.js';
export { default } from './moomoo.js';
