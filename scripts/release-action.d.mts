/** See release-action.mjs. */
export declare function releaseNotes(tag: string, version: string, changelog: string): string
