// Types of npm-folder.mjs, for the TypeScript tests that use it.
export interface NpmFolder {
  dir: string;
  installed(): boolean;
  require: NodeRequire;
  ensure(log?: (line: string) => void): void;
}
export function npmFolder(options: { dir: string; what: string; probes: string[]; ignoreScripts?: boolean; hint?: string }): NpmFolder;
