// What the upstream client takes from undici, in a module of its own: the client imports it
// dynamically (UpstreamClient.warm), so the bundle keeps undici in a chunk a start does not load.
export { Agent, buildConnector } from 'undici'
