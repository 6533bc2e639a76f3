// The search page: queries the Pagefind index in the browser. Without scripts the page keeps its
// plain list of every article and crew member, and the form still submits.
const form = document.querySelector(".search-form");
const input = form.querySelector("input[name=q]");
const status = document.querySelector(".search-status");
const results = document.querySelector(".search-results");
const everything = document.querySelector(".search-all");
const LIMIT = 20;

// A site with nothing to index yet has no index: the form then keeps its plain list.
const pagefind = form.dataset.pagefind ? await import(form.dataset.pagefind) : null;
if (pagefind) {
  await pagefind.options({ baseUrl: form.dataset.base });
  // A large site's index is split into shards; Pagefind searches them all and sorts the results by score.
  const shards = (form.dataset.shards || "").split(" ").filter(Boolean);
  await Promise.all(shards.map((shard) => pagefind.mergeIndex(shard, { baseUrl: form.dataset.base })));
}

// Copy an excerpt keeping only its text and Pagefind's <mark> highlights.
function excerpt(html) {
  const source = document.createElement("template");
  source.innerHTML = html;
  const out = document.createElement("p");
  out.className = "search-excerpt";
  for (const node of source.content.childNodes) {
    if (node.nodeName === "MARK") {
      const mark = document.createElement("mark");
      mark.textContent = node.textContent;
      out.append(mark);
    } else {
      out.append(node.textContent);
    }
  }
  return out;
}

function item(data) {
  const li = document.createElement("li");
  const link = document.createElement("a");
  link.href = data.url;
  link.textContent = data.meta.title || data.url;
  li.append(link, excerpt(data.excerpt));
  return li;
}

// The status line in the page's language: the theme's strings, each plural form by the browser's CLDR rules.
const foundForms = JSON.parse(status.dataset.found || "{}");
const plurals = new Intl.PluralRules(document.documentElement.lang || "en");

let latest = 0;
async function run(query) {
  const ticket = ++latest;
  query = query.trim();
  const url = new URL(location.href);
  if (query) url.searchParams.set("q", query); else url.searchParams.delete("q");
  history.replaceState(null, "", url);
  if (!query) {
    results.hidden = true;
    everything.hidden = false;
    status.textContent = "";
    return;
  }
  const search = await pagefind.search(query);
  const found = await Promise.all(search.results.slice(0, LIMIT).map((r) => r.data()));
  if (ticket !== latest) return;
  results.replaceChildren(...found.map(item));
  results.hidden = found.length === 0;
  everything.hidden = found.length > 0;
  const count = search.results.length;
  const said = count ? foundForms[plurals.select(count)] || foundForms.other : status.dataset.none;
  status.textContent = said ? said.replaceAll("{n}", count.toLocaleString(plurals.resolvedOptions().locale)).replaceAll("{query}", query)
    : count ? `${count} result${count === 1 ? "" : "s"} for \u201c${query}\u201d` : `Nothing found for \u201c${query}\u201d`;
}

let timer;
input.addEventListener("input", () => {
  clearTimeout(timer);
  timer = setTimeout(() => run(input.value), 150);
});
form.addEventListener("submit", (event) => {
  event.preventDefault();
  run(input.value);
});

input.value = new URLSearchParams(location.search).get("q") || "";
form.dataset.ready = "true";
if (pagefind) run(input.value);
