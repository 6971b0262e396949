// Imports from Discord files for the settings panel: the upload (with its progress), then the
// job polled every `pollMs` until it is done or failed, and the user's earlier jobs.

import * as api from '../api';
import type { ImportJob } from '../api';

function messageOf(e: unknown): string {
  if (e instanceof api.ApiError) return e.message || e.code;
  return e instanceof Error ? e.message : String(e);
}

/** How far a job got, 0…1 (a job that has found nothing yet is at 0). */
export function jobFraction(job: ImportJob): number {
  if (job.status !== 'running') return 1;
  return job.report.total > 0 ? Math.min(1, job.report.done / job.report.total) : 0;
}

export class ImportStore {
  jobs = $state<ImportJob[]>([]);
  /** Upload progress of the file being sent, 0…1; `null` when none is being sent. */
  uploading = $state<number | null>(null);
  /** Why the last upload or refresh failed. */
  error = $state<string | null>(null);
  pollMs = 1000;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #watching = false;

  /** The newest job. */
  get current(): ImportJob | null {
    return this.jobs[0] ?? null;
  }

  /** A poll is scheduled. */
  get polling(): boolean {
    return this.#timer !== null;
  }

  async open(): Promise<void> {
    this.#watching = true;
    try {
      this.jobs = await api.importJobs();
      this.error = null;
    } catch (e) {
      this.error = messageOf(e);
    }
    this.#schedule();
  }

  close(): void {
    this.#watching = false;
    this.#cancel();
  }

  /** Uploads `file` and follows its job; a refusal is kept in `error`. */
  async start(file: File): Promise<ImportJob | null> {
    this.error = null;
    this.uploading = 0;
    try {
      const job = await api.importDiscord(file, (fraction) => (this.uploading = fraction));
      this.#put(job);
      this.#schedule();
      return job;
    } catch (e) {
      this.error = messageOf(e);
      return null;
    } finally {
      this.uploading = null;
    }
  }

  /** Reads the running jobs again. */
  async poll(): Promise<void> {
    this.#cancel();
    for (const job of this.jobs.filter((j) => j.status === 'running')) {
      try {
        this.#put(await api.importJob(job.id));
      } catch (e) {
        this.error = messageOf(e);
      }
    }
    this.#schedule();
  }

  #put(job: ImportJob): void {
    const rest = this.jobs.filter((j) => j.id !== job.id);
    this.jobs = [job, ...rest].sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  }

  #schedule(): void {
    this.#cancel();
    if (!this.#watching || !this.jobs.some((j) => j.status === 'running')) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.poll();
    }, this.pollMs);
  }

  #cancel(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }
}

export const imports = new ImportStore();
