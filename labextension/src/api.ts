/**
 * Requests to the server extension (`agentnb.server`), with Jupyter's token and XSRF handling.
 */

import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { RunsResponse } from './runs';

/** `GET <base>/agentnb/api/<path>` as JSON; throws an Error with the server's message. */
export async function requestAPI<T>(
  path: string,
  settings = ServerConnection.makeSettings()
): Promise<T> {
  const url = URLExt.join(settings.baseUrl, 'agentnb', 'api', path);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, { method: 'GET' }, settings);
  } catch (error) {
    throw new Error(`Cannot reach the Jupyter server: ${String(error)}`);
  }
  const text = await response.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!response.ok) {
    const message =
      typeof body === 'object' && body !== null && 'message' in body
        ? String((body as { message: unknown }).message)
        : `${response.status} ${response.statusText}`;
    if (response.status === 404 && !message.includes('run')) {
      throw new Error(
        'The agentnb server extension is not enabled: check `jupyter server extension list`, ' +
          'then restart JupyterLab.'
      );
    }
    throw new Error(message);
  }
  return body as T;
}

/** The newest runs matching a query string from `runsQuery`. */
export function fetchRuns(query: string): Promise<RunsResponse> {
  return requestAPI<RunsResponse>(`runs?${query}`);
}

/** The trace payload of one run. */
export function fetchTrace(runId: string): Promise<unknown> {
  return requestAPI<unknown>(`runs/${encodeURIComponent(runId)}/trace`);
}
