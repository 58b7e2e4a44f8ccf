// One layer's promotion, from text to text: read both overlays, decide, write the target's files.
import { applyPromotions } from "./apply-promotions.ts";
import { comparePromotable, type PromotionRules } from "./find-promotions.ts";
import type { KeptDifference, OverlayFiles, Promotion, Subject } from "../model/promotion.ts";
import { readOverlaySettings } from "./overlay-settings.ts";
import { YamlWorkspace } from "./yaml-workspace.ts";

export interface OverlayPromotion {
  layer: string;
  promotions: Promotion[];
  kept: KeptDifference[];
  /** Target overlay-relative file → new content. */
  files: Map<string, string>;
  /** Files or patches that could not be compared. */
  problems: string[];
  /** Every subject either overlay sets something on (for `--component` suggestions). */
  subjects: Subject[];
}

export function promoteOverlay(layer: string, source: OverlayFiles, target: OverlayFiles, rules: PromotionRules): OverlayPromotion {
  const sourceWorkspace = new YamlWorkspace(source.files);
  const targetWorkspace = new YamlWorkspace(target.files);
  const sourceSettings = readOverlaySettings(source, sourceWorkspace);
  const targetSettings = readOverlaySettings(target, targetWorkspace);
  const comparison = comparePromotable(layer, sourceSettings, targetSettings, rules);
  const applied = applyPromotions(comparison.promotions, targetSettings, sourceWorkspace, targetWorkspace);
  const subjects = new Map<string, Subject>();
  for (const setting of [...sourceSettings.settings, ...targetSettings.settings])
    subjects.set(`${setting.subject.type}/${setting.subject.name}`, setting.subject);
  return {
    layer,
    promotions: applied.promotions,
    kept: [...comparison.kept, ...applied.conflicts],
    files: applied.files,
    problems: [...sourceSettings.problems, ...targetSettings.problems],
    subjects: [...subjects.values()],
  };
}
