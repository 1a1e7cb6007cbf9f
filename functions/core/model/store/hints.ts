/** The command that puts a model, or one of its versions, in the store. */
export function publishHint(model: string, version?: string): string {
  return `Publish it with: infera publish ${model}${version ? ` ${version}` : ''} --stack <stack> (or --store <dir> locally).`;
}
