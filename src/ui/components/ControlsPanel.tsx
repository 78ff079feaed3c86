import { MAX_LAG_CANDIDATES, MAX_SAMPLES, MAX_SEED, type Mode } from '../../share/permalink';
import { DEFAULT_LEVELS, levelHint, levelLabel } from '../../engine/levels';
import { usePlayground } from '../storeContext';
import { NumberField } from './NumberField';

function LevelButtons() {
  const levels = usePlayground((s) => s.pack?.levels ?? DEFAULT_LEVELS);
  const level = usePlayground((s) => s.level);
  const setLevel = usePlayground((s) => s.setLevel);
  return (
    <fieldset className="level-buttons">
      <legend>Pyramid level (keys 1–7)</legend>
      {levels.map((info) => (
        <button
          key={info.index}
          type="button"
          className={info.index === level ? 'selected' : ''}
          aria-pressed={info.index === level}
          data-testid={`level-${info.index}`}
          title={levelHint(info)}
          onClick={() => setLevel(info.index)}
        >
          <span className="level-name">{levelLabel(info)}</span>
          <span className="level-hint">{levelHint(info)}</span>
        </button>
      ))}
    </fieldset>
  );
}

/** A stable empty list: selectors must not return a new array on every call. */
const NO_CLASSES: string[] = [];

function ClassSelect() {
  const classNames = usePlayground((s) => s.pack?.classNames ?? NO_CLASSES);
  const prediction = usePlayground((s) => s.prediction);
  const classOverride = usePlayground((s) => s.classOverride);
  const setClassOverride = usePlayground((s) => s.setClassOverride);
  const predicted = prediction
    ? `${classNames[prediction.classIndex] ?? prediction.classIndex} (${Math.round(prediction.confidence * 100)}%)`
    : 'none yet';
  return (
    <div className="field">
      <label htmlFor="class-select">Class</label>
      <select
        id="class-select"
        data-testid="class-select"
        value={classOverride === null ? 'auto' : String(classOverride)}
        onChange={(e) => setClassOverride(e.target.value === 'auto' ? null : Number(e.target.value))}
      >
        <option value="auto">Predicted: {predicted}</option>
        {classNames.map((name, index) => (
          <option key={index} value={index}>
            {name}
          </option>
        ))}
      </select>
    </div>
  );
}

function SeedField() {
  const seed = usePlayground((s) => s.seed);
  const setSeed = usePlayground((s) => s.setSeed);
  const reroll = usePlayground((s) => s.rerollSeed);
  return (
    <div className="seed-row">
      <NumberField
        id="seed-input"
        label="Seed"
        value={seed}
        min={0}
        max={MAX_SEED}
        testId="seed-input"
        onCommit={setSeed}
      />
      <button
        type="button"
        onClick={reroll}
        data-testid="reroll"
        aria-label="Re-roll the seed (key R)"
        title="Re-roll the seed (R)"
      >
        Re-roll
      </button>
    </div>
  );
}

function SemanticPyramidControls() {
  const samples = usePlayground((s) => s.samples);
  const setSamples = usePlayground((s) => s.setSamples);
  const compare = usePlayground((s) => s.compare);
  const setCompare = usePlayground((s) => s.setCompare);
  return (
    <>
      <LevelButtons />
      <NumberField
        id="samples-input"
        label={`Samples per level (1–${MAX_SAMPLES})`}
        value={samples}
        min={1}
        max={MAX_SAMPLES}
        testId="samples-input"
        onCommit={setSamples}
      />
      <div className="field checkbox-field">
        <input
          id="compare-toggle"
          type="checkbox"
          checked={compare}
          data-testid="compare-toggle"
          onChange={(e) => setCompare(e.target.checked)}
        />
        <label htmlFor="compare-toggle">Compare all levels (key C)</label>
      </div>
      <ClassSelect />
    </>
  );
}

function LagControls() {
  const amplitude = usePlayground((s) => s.lagAmplitude);
  const setAmplitude = usePlayground((s) => s.setLagAmplitude);
  const candidates = usePlayground((s) => s.lagCandidates);
  const setCandidates = usePlayground((s) => s.setLagCandidates);
  return (
    <>
      <div className="field">
        <label htmlFor="lag-noise">
          Noise amplitude <output htmlFor="lag-noise">{amplitude.toFixed(2)}</output>
        </label>
        <input
          id="lag-noise"
          type="range"
          min={0}
          max={1}
          step={0.01}
          value={amplitude}
          data-testid="lag-noise"
          onChange={(e) => setAmplitude(Number(e.target.value))}
        />
        <span className="hint">0 gives one deterministic answer; 1 lets the candidates wander furthest.</span>
      </div>
      <NumberField
        id="lag-candidates"
        label={`Candidates (1–${MAX_LAG_CANDIDATES})`}
        value={candidates}
        min={1}
        max={MAX_LAG_CANDIDATES}
        testId="lag-candidates"
        onCommit={setCandidates}
      />
    </>
  );
}

export function ControlsPanel() {
  const mode = usePlayground((s) => s.mode);
  const setMode = usePlayground((s) => s.setMode);
  return (
    <aside className="pane controls-panel" aria-labelledby="controls-heading">
      <h2 id="controls-heading">Controls</h2>
      <div className="field">
        <label htmlFor="mode-select">Generator</label>
        <select
          id="mode-select"
          value={mode}
          data-testid="mode-select"
          onChange={(e) => setMode(e.target.value as Mode)}
        >
          <option value="sp">Semantic Pyramid</option>
          <option value="lag">LAG (super-resolution)</option>
        </select>
      </div>
      <SeedField />
      {/* Both groups stay available (their values live in the link); the one for the other generator is muted. */}
      <section className={`control-group ${mode === 'sp' ? 'active' : 'inactive'}`} aria-labelledby="sp-heading">
        <h3 id="sp-heading">Semantic Pyramid{mode === 'sp' ? '' : ' (used in Semantic Pyramid mode)'}</h3>
        <SemanticPyramidControls />
      </section>
      <section className={`control-group ${mode === 'lag' ? 'active' : 'inactive'}`} aria-labelledby="lag-heading">
        <h3 id="lag-heading">LAG{mode === 'lag' ? '' : ' (used in LAG mode)'}</h3>
        <LagControls />
      </section>
    </aside>
  );
}
