export async function runTutorialView(_: unknown): Promise<void> {}
