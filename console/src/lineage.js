// Lineage as a graph: each version is a node, an arrow runs from its parent version to it,
// and the dataset it was trained on (URI and checksum) feeds it from below, the edge
// labelled with the training job. Lineage is a forest (a version has at most one parent),
// so a tidy tree layout is exact and needs no layout library: generations are columns,
// leaves take rows in order, a parent sits level with its first child.

import { html } from "htm/preact";

import { semverCompare, shortHash } from "./format.js";

const COLUMN = 250;
const ROW = 150;
const NODE_W = 200;
const NODE_H = 58;
const DATA_H = 40;
const PAD = 16;

/** Positions of every version node: `{nodes: [{id, version|null, x, y, depth}], edges: [[from, to]]}`. */
export function layoutLineage(versions) {
  const byId = new Map(versions.map((v) => [v.version, v]));
  const children = new Map();
  const roots = [];
  const ghosts = new Set();
  for (const v of [...versions].sort((a, b) => semverCompare(a.version, b.version))) {
    const parent = v.lineage && v.lineage.parent_version;
    if (parent && parent !== v.version) {
      if (!byId.has(parent)) ghosts.add(parent);
      if (!children.has(parent)) children.set(parent, []);
      children.get(parent).push(v.version);
    } else {
      roots.push(v.version);
    }
  }
  // A parent that is not in the listing still appears, as a node without details.
  for (const ghost of [...ghosts].sort(semverCompare)) roots.push(ghost);
  roots.sort(semverCompare);

  const nodes = [];
  const edges = [];
  const placed = new Set();
  let row = 0;
  const place = (id, depth) => {
    if (placed.has(id)) return null; // a cycle in bad data: draw each version once
    placed.add(id);
    const kids = (children.get(id) || []).filter((k) => !placed.has(k));
    let y;
    if (kids.length === 0) {
      y = row;
      row += 1;
    } else {
      const rows = kids.map((k) => place(k, depth + 1)).filter((r) => r !== null);
      y = rows.length ? rows[0] : row++;
      for (const k of kids) edges.push([id, k]);
    }
    nodes.push({ id, version: byId.get(id) || null, depth, row: y });
    return y;
  };
  for (const root of roots) place(root, 0);
  for (const v of versions) if (!placed.has(v.version)) place(v.version, 0);
  return { nodes, edges, rows: Math.max(row, 1), depth: Math.max(0, ...nodes.map((n) => n.depth)) + 1 };
}

function basename(uri) {
  const text = String(uri || "");
  const parts = text.split("/").filter(Boolean);
  return parts.length ? parts[parts.length - 1] : text;
}

function activate(handler) {
  return (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      handler();
    }
  };
}

export function LineageGraph({ versions, selected, onSelect }) {
  const { nodes, edges, rows, depth } = layoutLineage(versions);
  const at = new Map(nodes.map((n) => [n.id, n]));
  const x = (n) => PAD + n.depth * COLUMN;
  const y = (n) => PAD + n.row * ROW;
  const width = PAD * 2 + (depth - 1) * COLUMN + NODE_W;
  const height = PAD * 2 + rows * ROW - (ROW - NODE_H - DATA_H - 40);
  return html`<svg class="lineage" viewBox=${`0 0 ${width} ${height}`} width=${width} height=${height}
      role="group" aria-label="Lineage graph: parent versions point to the versions trained from them">
    <defs>
      <marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse">
        <path d="M 0 0 L 10 5 L 0 10 z" class="arrow-head" />
      </marker>
    </defs>
    ${edges.map(([from, to]) => {
      const a = at.get(from);
      const b = at.get(to);
      const x1 = x(a) + NODE_W;
      const y1 = y(a) + NODE_H / 2;
      const x2 = x(b);
      const y2 = y(b) + NODE_H / 2;
      const mid = (x1 + x2) / 2;
      return html`<path class="edge" d=${`M ${x1} ${y1} C ${mid} ${y1}, ${mid} ${y2}, ${x2 - 2} ${y2}`} marker-end="url(#arrow)">
        <title>${`${from} → ${to}`}</title>
      </path>`;
    })}
    ${nodes.map((n) => {
      const v = n.version;
      const lineage = (v && v.lineage) || {};
      const nx = x(n);
      const ny = y(n);
      const isSelected = selected === n.id;
      const select = () => v && onSelect && onSelect(n.id);
      return html`<g key=${n.id} class=${`node${v ? "" : " node-ghost"}${isSelected ? " node-selected" : ""}`}
          tabindex=${v ? "0" : undefined} role=${v ? "button" : undefined}
          aria-pressed=${v ? String(isSelected) : undefined}
          aria-label=${v ? `version ${n.id}, ${v.status}${lineage.parent_version ? `, from ${lineage.parent_version}` : ""}` : `version ${n.id} (not listed)`}
          onClick=${select} onKeyDown=${activate(select)}>
        <rect x=${nx} y=${ny} width=${NODE_W} height=${NODE_H} rx="6" class="node-box" />
        <text x=${nx + 10} y=${ny + 20} class="node-title">${n.id}</text>
        <text x=${nx + NODE_W - 10} y=${ny + 20} text-anchor="end" class="node-status">${v ? v.status.replace(/_/g, " ") : "not listed"}</text>
        <text x=${nx + 10} y=${ny + 38} class="node-line">${`code ${lineage.code_revision || "—"}`}</text>
        <text x=${nx + 10} y=${ny + 52} class="node-line">${`job ${shortHash(lineage.training_job, 22) || "—"}`}</text>
        ${lineage.dataset_uri &&
        html`<g class="dataset">
          <line x1=${nx + NODE_W / 2} y1=${ny + NODE_H + 40} x2=${nx + NODE_W / 2} y2=${ny + NODE_H + 2} class="edge" marker-end="url(#arrow)" />
          <text x=${nx + NODE_W / 2 + 6} y=${ny + NODE_H + 24} class="edge-label">${lineage.training_job ? "trained" : "data"}</text>
          <rect x=${nx} y=${ny + NODE_H + 40} width=${NODE_W} height=${DATA_H} rx="3" class="data-box" />
          <text x=${nx + 8} y=${ny + NODE_H + 56} class="node-line">${shortHash(basename(lineage.dataset_uri), 26)}</text>
          <text x=${nx + 8} y=${ny + NODE_H + 72} class="node-line">${`sha256 ${shortHash(lineage.dataset_sha256, 12) || "—"}`}</text>
          <title>${`${lineage.dataset_uri}\nsha256 ${lineage.dataset_sha256 || "unknown"}`}</title>
        </g>`}
      </g>`;
    })}
  </svg>`;
}
