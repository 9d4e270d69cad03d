// The profiler: profile(fn) and the scope names models and user code give their work.
export { named } from './recorder.js';
export {
  profile,
  startProfile,
  type ProfileSession,
  type Profile,
  type ProfileOptions,
  type ProfileRow,
  type ProfileTiming,
} from './profile.js';
export { profileSvg, type TableOptions } from './table.js';
