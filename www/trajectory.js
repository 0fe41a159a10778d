// Renders a planner trace (rf-planner's Trace JSON) as DOM: plans, steps with the template
// used (name + tags), evaluations and rounds. Text only; model output goes through
// renderMathText.
import { renderMathText } from './render.js';

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c != null) e.append(c);
  return e;
}

function tagList(tags) {
  const ul = el('ul', { class: 'tags', 'aria-label': 'tags' });
  for (const t of tags || []) ul.append(el('li', { class: 'tag', text: t }));
  return ul;
}

function decisionText(d) {
  if (!d) return '';
  if (d.decision === 'revise') return `revise (${d.steps?.length ?? 0} new steps)`;
  if (d.decision === 'retrieve') return `retrieve another template: “${d.query}”`;
  return d.decision;
}

/** A one-line summary of the trace for an aria-live region. */
export function traceSummary(trace) {
  if (!trace) return '';
  const t = trace.totals || {};
  const last = trace.steps?.[trace.steps.length - 1];
  const attempt = last?.attempts?.[last.attempts.length - 1];
  const parts = [];
  if (trace.steps?.length) {
    parts.push(`Step ${last.index + 1}${attempt?.template ? `: template ${attempt.template.name}` : ''}`);
    if (attempt?.evaluation) parts.push(`evaluation: ${decisionText(attempt.evaluation.applied)}`);
  } else if (trace.plans?.length) {
    parts.push(`Plan with ${trace.plans[0].steps.length} steps`);
  }
  if (trace.flags?.direct_fallback) parts.push('fallback to direct chain-of-thought (the plan could not be read)');
  if (t.interplay_rounds) parts.push(`round ${t.interplay_rounds}`);
  if (trace.finished) parts.push(trace.answer ? `answer ${trace.answer}` : 'finished without an answer');
  return parts.join(', ');
}

export function renderTrajectory(container, trace) {
  const frag = document.createDocumentFragment();
  if (!trace) { container.replaceChildren(); return; }
  const t = trace.totals || {};
  frag.append(el('p', { class: 'totals', 'data-rounds': t.interplay_rounds ?? 0 },
    `Strategy ${trace.strategy} · ${t.interplay_rounds ?? 0} interplay rounds · ${t.generations ?? 0} generations · ${t.retrievals ?? 0} retrievals · ${(t.prompt_tokens ?? 0) + (t.generated_tokens ?? 0)} tokens`));

  if (trace.flags?.direct_fallback) {
    frag.append(el('p', { class: 'fallback', 'data-fallback': 'direct', role: 'note',
      text: 'Fallback: the navigator’s plan could not be read, so this was not a ReasonFlux run. The problem was solved by direct chain-of-thought instead.' }));
  }

  const plans = trace.plans || [];
  if (plans.length) {
    const planList = el('ol', { class: 'plans' });
    for (const p of plans) {
      const li = el('li', { class: 'plan' }, el('span', { class: 'plan-head', text: p.from_step === 0 ? 'Plan' : `Revision from step ${p.from_step + 1}` }), el('span', { class: 'plan-source', text: ` (${p.source.replace('_', ' ')})` }));
      const steps = el('ol', { class: 'plan-steps', start: String(p.from_step + 1) });
      for (const s of p.steps) steps.append(el('li', {}, el('strong', { text: s.template }), ` — ${s.sub_goal}`, tagList(s.tags)));
      li.append(steps);
      planList.append(li);
    }
    frag.append(el('h3', { text: 'Template trajectory' }), planList);
  }

  const guides = trace.guides || [];
  if (guides.length) {
    const list = el('ul', { class: 'guides' });
    for (const g of guides) list.append(el('li', { class: 'template', 'data-template-id': g.id }, el('span', { class: 'template-name', text: g.name }), tagList(g.tags)));
    frag.append(el('h3', { text: 'Templates in the prompt' }), list);
  }

  const steps = trace.steps || [];
  if (steps.length) {
    const list = el('ol', { class: 'steps' });
    for (const s of steps) {
      const li = el('li', { class: 'step', 'data-step': s.index });
      li.append(el('div', { class: 'step-head' }, el('strong', { text: `Step ${s.index + 1}: ` }), s.step.sub_goal || s.step.template));
      for (const [i, a] of (s.attempts || []).entries()) {
        const box = el('div', { class: 'attempt' });
        if (s.attempts.length > 1) box.append(el('div', { class: 'attempt-no', text: `Attempt ${i + 1}` }));
        if (a.template) {
          box.append(el('div', { class: 'template', 'data-template-id': a.template.id },
            el('span', { class: 'label', text: 'Template: ' }), el('span', { class: 'template-name', text: a.template.name }), tagList(a.template.tags)));
        } else {
          box.append(el('div', { class: 'template none', text: `No template found for “${a.query}”` }));
        }
        if (a.output) {
          const out = el('div', { class: 'step-output' });
          renderMathText(out, a.output);
          box.append(el('details', {}, el('summary', { text: 'Instantiated step' }), out));
        }
        if (a.evaluation) {
          const ev = a.evaluation;
          const same = JSON.stringify(ev.requested) === JSON.stringify(ev.applied);
          box.append(el('div', { class: `evaluation decision-${ev.applied.decision}`, 'data-decision': ev.applied.decision },
            el('span', { class: 'label', text: 'Evaluation: ' }), decisionText(ev.applied) + (same ? '' : ` (asked: ${decisionText(ev.requested)}, limit reached)`),
            ev.reason ? el('span', { class: 'reason', text: ` — ${ev.reason}` }) : null,
            el('span', { class: 'budget', text: ` · round budget ${ev.round_budget}` })));
        }
        li.append(box);
      }
      list.append(li);
    }
    frag.append(el('h3', { text: 'Steps' }), list);
  }

  const f = trace.flags || {};
  const notes = [];
  if (f.plan_repaired) notes.push('The plan JSON needed repair.');
  if (f.round_budget_exhausted) notes.push('The round budget ran out.');
  if (f.round_cap_reached) notes.push('The hard round cap was reached.');
  if (f.boxed_retry) notes.push('Asked again for the boxed answer.');
  if (f.answer_unboxed) notes.push('No \\boxed{} answer: read leniently.');
  if (f.backend_errors) notes.push(`${f.backend_errors} engine errors.`);
  if (notes.length) {
    const ul = el('ul', { class: 'flags' });
    for (const n of notes) ul.append(el('li', { text: n }));
    frag.append(ul);
  }
  if (!plans.length && !steps.length && trace.exchanges?.length) {
    frag.append(el('p', { class: 'exchanges', text: `${trace.exchanges.length} exchanges: ${trace.exchanges.map((e) => e.kind).join(' → ')}` }));
  }
  container.replaceChildren(frag);
}
