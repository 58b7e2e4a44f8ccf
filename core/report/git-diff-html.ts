// `diff --against` as one self-contained HTML page (the merge request widget links it through
// artifacts:expose_as): a navigation tree cluster → Kustomization → HelmRelease → kind → object,
// and for each object its field changes with a side-by-side and a unified view of its YAML. No
// external resource; the data is JSON in the page, every string redacted, read by the script with
// textContent only (nothing from the repository becomes markup). Secret values are never in it.
import { diffLines } from "diff";
import { formatFieldChange } from "../diff/field-changes.ts";
import type { GitDiffReport } from "../diff/git-diff.ts";
import { RISK_ORDER, RISK_TITLES } from "../diff/git-diff-risks.ts";
import { describeGitAction, describeRef, groupGitChanges } from "./git-diff-groups.ts";

interface PageObject {
  id: string;
  title: string;
  action: string;
  what: string;
  file?: string;
  fields: string[];
  unified: string;
  /** [left, right, kind]: kind s (same), d (only left), a (only right). */
  rows: [string | null, string | null, "s" | "d" | "a"][];
}

interface PageTree {
  cluster: string;
  kustomizations: { title: string; releases: { title?: string; kinds: { kind: string; objects: string[] }[] }[] }[];
}

export function formatGitDiffHtml(report: GitDiffReport, redact: (text: string) => string): string {
  const objects: PageObject[] = [];
  const tree: PageTree[] = groupGitChanges(report.changes).map((cluster) => ({
    cluster: cluster.cluster,
    kustomizations: cluster.kustomizations.map((kustomization) => ({
      title: `Kustomization ${kustomization.kustomization}`,
      releases: kustomization.releases.map((release) => ({
        ...(release.helmRelease ? { title: `HelmRelease ${release.helmRelease}` } : {}),
        kinds: release.kinds.map((kind) => ({
          kind: kind.kind,
          objects: kind.changes.map((change) => {
            const id = `o${objects.length}`;
            const fields = (change.fields ?? [])
              .filter((field) => !(report.collapseNoise && field.noise))
              .map((field) => formatFieldChange(field, 400));
            const collapsed = (change.fields?.length ?? 0) - fields.length;
            if (collapsed > 0) fields.push(`(${collapsed} chart-bump field${collapsed === 1 ? "" : "s"} collapsed)`);
            objects.push({
              id,
              title: describeRef(change),
              action: change.action,
              what: describeGitAction(change),
              ...(change.file ? { file: change.file } : {}),
              fields,
              unified: change.diff ?? wholeObject(change.action, change.yaml?.before ?? change.yaml?.after ?? ""),
              rows: sideBySide(change.yaml?.before ?? "", change.yaml?.after ?? ""),
            });
            return id;
          }),
        })),
      })),
    })),
  }));
  const summary = {
    title: `gitops-ci diff --against ${report.against.rev}`,
    base: report.against.base.slice(0, 12),
    clusters: report.clusters,
    risks: RISK_ORDER.flatMap((kind) =>
      report.risks
        .filter((risk) => risk.kind === kind)
        .map((risk) => ({ title: RISK_TITLES[kind], text: `${risk.cluster}/${risk.layer}: ${risk.object}: ${risk.detail}` })),
    ),
    problems: report.problems.map(
      (problem) => `${problem.environment ?? "*"}${problem.layer ? `/${problem.layer}` : ""}: ${problem.message}`,
    ),
  };
  const data = redact(JSON.stringify({ summary, tree, objects }))
    .replace(/</g, "\\u003c")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>gitops-ci: what this merge request changes in Git</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1>What this merge request changes in Git</h1><p id="subtitle"></p></header>
<div id="layout"><nav id="tree" aria-label="changed objects"></nav><main id="main"></main></div>
<script type="application/json" id="gitops-ci-data">${data}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

function wholeObject(action: string, yaml: string): string {
  const mark = action === "delete" ? "-" : "+";
  return yaml
    .replace(/\n$/, "")
    .split("\n")
    .map((line) => `${mark}${line}`)
    .join("\n");
}

function sideBySide(before: string, after: string): PageObject["rows"] {
  const rows: PageObject["rows"] = [];
  for (const part of diffLines(before, after)) {
    const lines = part.value.replace(/\n$/, "").split("\n");
    for (const line of lines) rows.push(part.added ? [null, line, "a"] : part.removed ? [line, null, "d"] : [line, line, "s"]);
  }
  return rows;
}

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1f2328}
header{padding:8px 16px;border-bottom:1px solid #d0d7de}h1{font-size:18px;margin:4px 0}
#layout{display:flex;min-height:calc(100vh - 70px)}
nav{width:340px;flex:none;overflow:auto;border-right:1px solid #d0d7de;padding:8px}
nav ul{list-style:none;padding-left:14px;margin:2px 0}nav>ul{padding-left:0}
nav a{cursor:pointer;color:#0969da;text-decoration:none}nav a.current{font-weight:bold}
.create{color:#1a7f37}.update{color:#9a6700}.delete{color:#cf222e}
main{flex:1;overflow:auto;padding:8px 16px}
table.sbs{border-collapse:collapse;width:100%;font:12px/1.35 ui-monospace,monospace}
table.sbs td{white-space:pre-wrap;vertical-align:top;padding:0 6px;width:50%}
td.d{background:#ffebe9}td.a{background:#dafbe1}
pre{font:12px/1.35 ui-monospace,monospace;background:#f6f8fa;padding:8px;overflow:auto}
.add{background:#dafbe1}.del{background:#ffebe9}.hunk{color:#8250df}
button{margin-right:6px}button[aria-pressed=true]{font-weight:bold}
`;

// Plain DOM, textContent only: the data is from an untrusted merge request.
const SCRIPT = `
(function(){
var data=JSON.parse(document.getElementById("gitops-ci-data").textContent);
var byId={};data.objects.forEach(function(o){byId[o.id]=o;});
var view="sbs";var current=null;
function el(tag,text,cls){var e=document.createElement(tag);if(text!=null)e.textContent=text;if(cls)e.className=cls;return e;}
document.getElementById("subtitle").textContent=data.summary.title+" (merge base "+data.summary.base+")";
var nav=document.getElementById("tree");
var top=el("ul");nav.appendChild(top);
var home=el("li");var homeLink=el("a","Summary");homeLink.onclick=function(){show(null);};home.appendChild(homeLink);top.appendChild(home);
data.tree.forEach(function(c){
  var li=el("li");li.appendChild(el("strong",c.cluster));var ks=el("ul");li.appendChild(ks);top.appendChild(li);
  c.kustomizations.forEach(function(k){
    var kl=el("li",k.title);var rs=el("ul");kl.appendChild(rs);ks.appendChild(kl);
    k.releases.forEach(function(r){
      var target=rs;
      if(r.title){var rl=el("li",r.title);target=el("ul");rl.appendChild(target);rs.appendChild(rl);}
      r.kinds.forEach(function(kind){
        var kn=el("li",kind.kind);var os=el("ul");kn.appendChild(os);target.appendChild(kn);
        kind.objects.forEach(function(id){var o=byId[id];var ol=el("li");var a=el("a",o.title,o.action);a.setAttribute("data-object",id);a.title=o.what;a.onclick=function(){show(id);};ol.appendChild(a);os.appendChild(ol);});
      });
    });
  });
});
function summary(main){
  var t=el("table");var head=el("tr");["cluster","created","changed","deleted"].forEach(function(h){head.appendChild(el("th",h));});t.appendChild(head);
  data.summary.clusters.forEach(function(c){var r=el("tr");[c.cluster,c.created,c.changed,c.deleted].forEach(function(v){r.appendChild(el("td",String(v)));});t.appendChild(r);});
  main.appendChild(el("h2","Blast radius"));main.appendChild(t);
  if(data.summary.risks.length){main.appendChild(el("h2","Must not miss"));var ul=el("ul");data.summary.risks.forEach(function(r){ul.appendChild(el("li",r.title+": "+r.text));});main.appendChild(ul);}
  if(data.summary.problems.length){main.appendChild(el("h2","Could not compare"));var pl=el("ul");data.summary.problems.forEach(function(p){pl.appendChild(el("li",p,"delete"));});main.appendChild(pl);}
  main.appendChild(el("h2","Changed objects ("+data.objects.length+")"));
  var ol=el("ul");ol.id="changed-objects";data.objects.forEach(function(o){var li=el("li");var a=el("a",o.title,o.action);a.onclick=function(){show(o.id);};li.appendChild(a);li.appendChild(document.createTextNode(" "+o.what));ol.appendChild(li);});main.appendChild(ol);
}
function show(id){
  current=id;var main=document.getElementById("main");main.textContent="";
  Array.prototype.forEach.call(nav.querySelectorAll("a[data-object]"),function(a){a.classList.toggle("current",a.getAttribute("data-object")===id);});
  if(!id){summary(main);return;}
  var o=byId[id];main.appendChild(el("h2",o.title));main.appendChild(el("p",o.what+(o.file?" — "+o.file:""),o.action));
  if(o.fields.length){var pre=el("pre");pre.id="fields";pre.textContent=o.fields.join("\\n");main.appendChild(pre);}
  var bar=el("div");[["sbs","Side by side"],["unified","Unified"]].forEach(function(v){var b=el("button",v[1]);b.id="view-"+v[0];b.setAttribute("aria-pressed",String(view===v[0]));b.onclick=function(){view=v[0];show(current);};bar.appendChild(b);});main.appendChild(bar);
  if(view==="sbs"){var t=el("table","","sbs");t.id="side-by-side";o.rows.forEach(function(r){var tr=el("tr");tr.appendChild(el("td",r[0]==null?"":r[0],r[2]==="d"?"d":""));tr.appendChild(el("td",r[1]==null?"":r[1],r[2]==="a"?"a":""));t.appendChild(tr);});main.appendChild(t);}
  else{var u=el("pre");u.id="unified";o.unified.split("\\n").forEach(function(line){var s=el("div",line,line.charAt(0)==="+"?"add":line.charAt(0)==="-"?"del":line.indexOf("@@")===0?"hunk":"");u.appendChild(s);});main.appendChild(u);}
}
show(null);
})();
`;
