/** What every workload gets from the runner, and the helpers they share. */
import type { SystemName } from '../agents/messages.js';
import type { BenchPlan } from '../config.js';
import { Session } from '../fleet/Session.js';
import type { Workers } from '../fleet/Workers.js';
import { deploy, type Deployment, type DeploymentContext } from '../systems/deployments.js';

export interface WorkloadContext {
  plan: BenchPlan;
  workers: Workers;
  systems: readonly SystemName[];
  deployment: DeploymentContext;
  /** Progress for the person watching (stderr). */
  log(message: string): void;
}

/** Deploys every system, runs `body` with one session per system, and always tears them down. */
export async function withSessions<T>(context: WorkloadContext, body: (sessions: Session[]) => Promise<T>): Promise<T> {
  const deployments: Deployment[] = [];
  const sessions: Session[] = [];
  try {
    for (const system of context.systems) {
      const deployment = await deploy(system, context.deployment);
      deployments.push(deployment);
      sessions.push(new Session(context.workers, deployment));
    }
    return await body(sessions);
  } finally {
    for (const session of sessions) await session.leaveAll().catch(() => undefined);
    for (const deployment of deployments) await deployment.close();
  }
}

/** The systems in a different order per run (rotated), so that no system always goes first. */
export function rotated<T>(items: readonly T[], run: number): T[] {
  const shift = run % Math.max(1, items.length);
  return [...items.slice(shift), ...items.slice(0, shift)];
}

export function serverPidOf(session: Session, fallback: number): number {
  return session.deployment.server?.pid ?? fallback;
}
