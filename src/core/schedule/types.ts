/** What the run record keeps about scheduling: a wait for a greener start, pausing while the grid is dirty. */

export interface StartWait {
  /** the window searched, hours from the moment the command was given */
  withinH: number;
  /** when the wait began and when the run was planned to start (ISO) */
  requestedAt: string;
  plannedStart: string;
  /** seconds actually waited */
  waitedS: number;
  /** the forecast's expectation for a run of the assumed duration: mean intensity now and at the planned start */
  nowMeanGPerKWh: number;
  plannedMeanGPerKWh: number;
  /** 0–1 */
  expectedSavingFraction: number;
  /** duration the choice assumed, s, and where it came from ("median of 4 past runs of this command", "1 h default") */
  assumedDurationS: number;
  assumedFrom: string;
  /** the forecast's source */
  source: string;
}

export interface PauseRecord {
  thresholdGPerKWh: number;
  maxDelayS: number;
  /** total time paused, s */
  pausedS: number;
  /** how many times the run was paused */
  pauses: number;
  /** time-weighted mean intensity while paused (what was avoided), gCO₂eq/kWh */
  avoidedMeanGPerKWh?: number;
  /** mean intensity while running, gCO₂eq/kWh */
  runningMeanGPerKWh?: number;
  /**
   * Estimated saving, kg: the energy of the run × (intensity of the hours it was paused − intensity of the hours
   * it ran instead), only where both are known; a model, not a measurement.
   */
  estimatedSavingKg?: number;
  /** set when the delay budget ran out and the run went on above the threshold */
  delayExhausted?: boolean;
  source: string;
}

export interface RunSchedule {
  wait?: StartWait;
  /** why it was not delayed although asked to be */
  startedNowReason?: string;
  pause?: PauseRecord;
}
