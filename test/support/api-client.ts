import axios, { type AxiosInstance } from 'axios';

/**
 * A client for a Harbinger listening on loopback: never throws on a status (tests assert it), and
 * sends the bearer token when one is given (omit it to act as an unauthenticated caller).
 */
export function apiClient(port: number, token?: string): AxiosInstance {
  return axios.create({
    baseURL: `http://127.0.0.1:${port}`,
    validateStatus: () => true,
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
}
