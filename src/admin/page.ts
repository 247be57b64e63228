/**
 * The admin listener's live page (issue #8, item 3). Stub: the full page follows.
 */

/** A static asset served by the admin listener at `GET /assets/<name>`. */
export interface AdminAsset {
  contentType: string;
  body: string;
}

/** Assets the page loads from the admin listener (no CDN: the page works offline). */
export const ADMIN_ASSETS: Record<string, AdminAsset> = {};

/** The HTML of the admin listener's `GET /`. */
export function renderAdminPage(): string {
  return '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>mcp-shepherd</title></head><body><p>mcp-shepherd admin</p></body></html>';
}
