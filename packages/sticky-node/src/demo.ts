/** Placeholder while the demo is written. */
export async function runDemo(_write: (line: string) => void): Promise<void> {}
