/** A `count` call with progress through an SDK 2.x `Client` (either era): its text and the progress it saw. */
import type { Client } from '@modelcontextprotocol/client';

export async function countWithProgress(client: Client, n: number): Promise<{ text: string; progress: number[] }> {
  const progress: number[] = [];
  const result = await client.callTool(
    { name: 'count', arguments: { n } },
    { onprogress: (p) => progress.push(p.progress) },
  );
  const text = ((result as { content?: Array<{ text?: string }> }).content ?? []).map((c) => c.text ?? '').join('');
  return { text, progress };
}
