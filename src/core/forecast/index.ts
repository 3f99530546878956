/** Progress read from a run's output, the forecast of its final footprint, and budgets. */
import { formatCo2 } from '../format';
import type { Forecast } from './forecaster';

export * from './progress';
export * from './forecaster';
export * from './budget';
export * from './outlook';

/** "≈ 85 g CO₂eq at the end · epoch 3/20" */
export function formatForecastLine(f: Pick<Forecast, 'predictedKg' | 'label' | 'progress'>): string {
  const where = f.label || `${Math.round(f.progress * 100)} %`;
  return `≈ ${formatCo2(f.predictedKg)} CO₂eq at the end · ${where}`;
}
