import type { BackendRequest } from '../engine/protocol';

export const BACKEND_CHOICES: BackendRequest[] = ['auto', 'webgpu', 'webgl', 'wasm', 'cpu'];

/** Reads ?backend=webgpu|webgl|wasm|cpu; anything else means automatic choice. */
export function backendFromQuery(search: string): { backend: BackendRequest; invalid: string | null } {
  const value = new URLSearchParams(search).get('backend');
  if (value === null || value === '') return { backend: 'auto', invalid: null };
  if ((BACKEND_CHOICES as string[]).includes(value)) return { backend: value as BackendRequest, invalid: null };
  return { backend: 'auto', invalid: value.slice(0, 24) };
}

/** The current page with ?backend= set (or removed for auto), keeping the hash. */
export function urlWithBackend(href: string, backend: BackendRequest): string {
  const url = new URL(href);
  if (backend === 'auto') url.searchParams.delete('backend');
  else url.searchParams.set('backend', backend);
  return url.toString();
}
