"""Topics: the science taxonomy, article tagging, and subscription keyword rules.

``TOPICS`` is the built-in taxonomy (stable slugs, readable names). Each topic owns a set
of weighted English and Chinese keywords; ``tag_topics`` scores an article against all of
them and returns the topics that clear a threshold, best first. ``parse_rule`` turns a
subscriber's query (words, "quoted phrases", -exclusions) into a ``KeywordRule``.

Matching, shared by both: text is NFKC-normalised and case-folded, split into Latin-script
words (reduced with the Snowball English stemmer, so "sequencing" meets "sequence") and
single CJK characters (Chinese has no word boundaries, so a Chinese keyword is a run of
characters, i.e. a substring). A keyword or phrase matches a run of consecutive tokens;
hyphens, slashes and apostrophes join words ("gene-edited" is the phrase "gene edit"),
other punctuation breaks a phrase. Keywords are data, never regular expressions, so no
user input can make matching slow.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache

from summaries.errors import SummariesError


class RuleError(SummariesError, ValueError):
    """A subscription query that cannot become a keyword rule (empty, too long, ...)."""


@dataclass(frozen=True, slots=True)
class Topic:
    slug: str  # stable: stored in the database and used as a hashtag
    name: str
    emoji: str | None


@dataclass(frozen=True, slots=True)
class TopicScore:
    slug: str
    score: float  # length-normalised evidence; tagged topics score >= MIN_SCORE


TOPICS: tuple[Topic, ...] = (
    Topic("ai", "AI & computing", "🤖"),
    Topic("synbio", "Synthetic biology", "🧫"),
    Topic("microbiology", "Microbiology", "🦠"),
    Topic("biomanufacturing", "Biomanufacturing & industrial biotech", "🏭"),
    Topic("genomics", "Genomics & gene editing", "🧬"),
    Topic("precision-medicine", "Molecular & precision medicine", "🩺"),
    Topic("drug-discovery", "Drug discovery", "💊"),
    Topic("neuroscience", "Neuroscience", "🧠"),
    Topic("climate", "Climate & environment", "🌍"),
    Topic("energy", "Energy", "⚡"),
    Topic("materials", "Materials", "🧱"),
    Topic("physics", "Physics", "⚛️"),
    Topic("chemistry", "Chemistry", "⚗️"),
    Topic("space", "Space & astronomy", "🔭"),
    Topic("agrifood", "Agriculture & food", "🌾"),
    Topic("science-policy", "Science policy, infrastructure & collaboration", "🏛️"),
)

# A topic needs a defining keyword in the title, or two or more good keywords in a short
# text; a passing mention, or one keyword in a long text, stays below it.
MIN_SCORE = 4.0
# A keyword in the title counts this many times its weight, whatever the body's length.
TITLE_WEIGHT = 2.0
# Weak (weight 1) keywords together add at most this much: they support a topic but
# never make one on their own, however often "innovation" or "cooperation" recur.
WEAK_CAP = 3.0
# Bodies up to this many words are scored as they are; longer ones are divided by
# sqrt(words / REFERENCE_WORDS), so a long article must mention a topic more to keep it.
REFERENCE_WORDS = 200
# Chinese words average about two characters; this converts characters to word units.
CJK_CHARS_PER_WORD = 2.0
# Only this much of a text is read: topics are settled long before, and it bounds the
# work a hostile input can cause.
MAX_TEXT_CHARS = 200_000

MAX_RULE_CHARS = 100
MAX_RULE_TERMS = 10

# Keyword weights: 3 names the topic outright ("CRISPR", "合成生物"), 2 is typical of it,
# 1 is weak or ambiguous evidence that only counts together with more. A leading "=" means
# the exact word, unstemmed: Snowball folds "physics" into "physical", "universe" into
# "university", "Mars" into "mar".
# Packed, not one keyword a line: the lists read as vocabularies.
# fmt: off
_KEYWORDS: Mapping[str, Mapping[int, tuple[str, ...]]] = {
    "ai": {
        3: (
            "artificial intelligence", "machine learning", "deep learning", "neural network",
            "large language model", "LLM", "generative AI", "computer science",
            "quantum computing", "quantum computer", "supercomputer", "high-performance computing",
            "reinforcement learning", "computer vision", "natural language processing",
            "foundation model", "ChatGPT", "人工智能", "机器学习", "深度学习", "神经网络",
            "大模型", "大语言模型", "量子计算", "超级计算", "生成式人工智能",
        ),
        2: (
            "AI", "computing", "algorithm", "robotics", "robot", "GPU", "data center",
            "data centre", "big data", "cloud computing", "cybersecurity", "chatbot", "AlphaFold",
            "算法", "算力", "机器人", "计算机", "数据中心", "大数据", "云计算", "智能体",
        ),
        1: (
            "intelligent", "software", "semiconductor", "chip", "automation", "digital twin",
            "internet of things", "data", "芯片", "智能", "数字化",
        ),
    },
    "synbio": {
        3: (
            "synthetic biology", "synbio", "engineering biology", "genetic circuit",
            "gene circuit", "biofoundry", "synthetic genome", "synthetic cell", "xenobiology",
            "engineered microbe", "engineered bacteria", "engineered yeast", "合成生物",
            "工程生物", "基因线路", "生物铸造",
        ),
        2: (
            "metabolic engineering", "bioengineering", "cell-free", "directed evolution",
            "protein design", "DNA synthesis", "genetically engineered", "cell factory",
            "programming life", "代谢工程", "细胞工厂", "定向进化", "蛋白质设计",
        ),
        1: (
            "biosensor", "chassis cell", "bioengineer", "底盘细胞", "生物传感",
        ),
    },
    "microbiology": {
        3: (
            "microbiology", "microbiologist", "microbial", "microbe", "microorganism",
            "microbiome", "microbiota", "bacteria", "bacterial", "bacterium", "antimicrobial",
            "virology", "bacteriophage", "phage", "archaea", "微生物", "细菌", "菌群", "噬菌体",
            "病毒学",
        ),
        2: (
            "pathogen", "virus", "fungi", "fungal", "fungus", "yeast", "probiotic", "antibiotic",
            "antibiotic resistance", "infectious disease", "coronavirus", "SARS-CoV-2", "E. coli",
            "病毒", "病原体", "抗生素", "耐药", "真菌", "酵母", "益生菌", "传染病",
        ),
        1: (
            "infection", "pandemic", "epidemic", "viral", "感染", "疫情",
        ),
    },
    "biomanufacturing": {
        3: (
            "biomanufacturing", "industrial biotechnology", "industrial biotech", "bioprocess",
            "bioreactor", "biorefinery", "precision fermentation", "cell factory",
            "living factory", "生物制造", "工业生物技术", "生物反应器", "生物炼制", "精准发酵",
        ),
        2: (
            "fermentation", "bioeconomy", "bio-based", "biocatalysis", "biocatalyst",
            "metabolic engineering", "bioplastic", "biotechnology industry", "biotech industry",
            "scale-up", "发酵", "生物经济", "生物基", "细胞工厂", "生物催化", "生物产业",
        ),
        1: (
            "biotechnology", "biotech", "enzyme", "biofuel", "生物技术", "酶",
        ),
    },
    "genomics": {
        3: (
            "genomics", "genome", "gene editing", "genome editing", "CRISPR", "Cas9",
            "base editing", "prime editing", "transcriptomics", "epigenetics", "genome sequencing",
            "DNA sequencing", "pharmacogenomics", "基因组", "基因编辑", "测序", "转录组",
            "表观遗传",
        ),
        2: (
            "gene", "genetic", "DNA", "RNA", "bioinformatics", "bioinformation", "omics",
            "proteomics", "single-cell", "chromosome", "genotype", "allele", "sequencing", "基因",
            "遗传", "生物信息", "组学", "单细胞", "染色体",
        ),
        1: (
            "mutation", "hereditary", "mRNA", "突变",
        ),
    },
    "precision-medicine": {
        3: (
            "precision medicine", "molecular medicine", "personalized medicine",
            "personalised medicine", "individualized medicine", "individualised medicine",
            "precision oncology", "targeted therapy", "gene therapy", "cell therapy", "=CAR-T",
            "liquid biopsy", "companion diagnostic", "molecular diagnostics", "精准医学",
            "精准医疗", "分子医学", "个性化医疗", "个体化医疗", "靶向治疗", "基因治疗", "细胞治疗",
            "液体活检",
        ),
        2: (
            "immunotherapy", "biomarker", "regenerative medicine", "stem cell", "oncology",
            "translational medicine", "nuclear medicine", "biomedicine", "organoid", "免疫治疗",
            "生物标志物", "再生医学", "干细胞", "转化医学", "类器官",
        ),
        1: (
            "biomedical", "medicine", "medical", "clinical", "cancer", "tumor", "tumour",
            "diagnosis", "diagnostics", "patient", "disease", "healthcare", "molecular biology",
            "肿瘤", "癌症", "临床", "生物医药", "医学", "诊断", "疾病",
        ),
    },
    "drug-discovery": {
        3: (
            "drug discovery", "drug development", "drug design", "drug candidate", "new drug",
            "molecular docking", "lead compound", "药物发现", "药物研发", "新药", "创新药",
            "药物设计", "候选药物",
        ),
        2: (
            "pharmaceutical", "pharma", "pharmacology", "therapeutics", "clinical trial",
            "small molecule", "antibody", "vaccine", "preclinical", "antiviral", "inhibitor",
            "=biologics", "drug target", "FDA", "临床试验", "制药", "药物", "疫苗", "抗体",
            "小分子", "靶点",
        ),
        1: (
            "drug", "=medication", "=medications", "peptide", "immunotherapy", "approval", "医药",
        ),
    },
    "neuroscience": {
        3: (
            "neuroscience", "neuroscientist", "neuron", "brain science", "brain research",
            "brain-computer interface", "neurodegenerative", "Alzheimer", "Parkinson",
            "neural circuit", "synapse", "synaptic", "glial", "hippocampus", "neurotransmitter",
            "optogenetics", "connectome", "neuroimaging", "神经科学", "脑科学", "神经元",
            "脑机接口", "阿尔茨海默", "帕金森", "神经退行", "突触", "胶质细胞",
        ),
        2: (
            "brain", "neurology", "neurological", "dementia", "cortex", "psychiatry", "autism",
            "spinal cord", "EEG", "fMRI", "类脑", "大脑", "精神疾病", "抑郁症", "自闭症",
        ),
        1: (
            "cognitive", "cognition", "mental health", "depression", "stroke", "认知",
        ),
    },
    "climate": {
        3: (
            "climate", "global warming", "greenhouse gas", "carbon emissions", "biodiversity",
            "carbon neutrality", "deforestation", "ocean acidification", "permafrost", "IPCC",
            "气候", "全球变暖", "温室气体", "碳排放", "碳中和", "碳达峰", "生物多样性",
        ),
        2: (
            "emissions", "net zero", "decarbonization", "decarbonisation", "carbon dioxide", "CO2",
            "methane", "pollution", "air quality", "ecology", "ecological", "sea level",
            "extreme weather", "drought", "wildfire", "glacier", "ice sheet", "extinction",
            "microplastics", "environmental degradation", "Paris Agreement", "双碳", "减排",
            "生态", "污染", "极端天气", "海平面", "冰川", "干旱", "环保",
        ),
        1: (
            "environmental", "environment", "=sustainability", "=conservation", "ecosystem",
            "weather", "habitat", "endangered", "环境", "可持续发展",
        ),
    },
    "energy": {
        3: (
            "renewable energy", "clean energy", "energy transition", "energy storage",
            "solar power", "solar energy", "solar cell", "photovoltaic", "wind power",
            "wind energy", "wind turbine", "lithium-ion", "fuel cell", "nuclear fusion",
            "fusion energy", "fusion reactor", "tokamak", "nuclear power", "geothermal",
            "hydropower", "新能源", "可再生能源", "光伏", "太阳能", "风电", "风能", "储能", "锂电",
            "氢能", "燃料电池", "核聚变", "核电",
        ),
        2: (
            "battery", "hydrogen", "power grid", "electric vehicle", "fossil fuel", "natural gas",
            "coal", "power plant", "biofuel", "electricity", "new energy", "oil and gas",
            "nuclear reactor", "perovskite", "能源", "电池", "电网", "电动汽车", "化石燃料",
            "石油", "天然气", "煤炭",
        ),
        1: (
            "energy", "fuel", "carbon capture", "power generation", "发电",
        ),
    },
    "materials": {
        3: (
            "materials science", "materials research", "new materials", "advanced materials",
            "nanomaterial", "nanotechnology", "graphene", "metamaterial", "2D material",
            "carbon nanotube", "材料科学", "新材料", "纳米材料", "石墨烯", "超材料", "复合材料",
        ),
        2: (
            "alloy", "polymer", "ceramic", "composite material", "thin film", "nanoparticle",
            "biomaterial", "perovskite", "semiconductor", "superconductor", "nanoscale", "材料",
            "纳米", "钙钛矿", "半导体", "合金", "高分子", "陶瓷",
        ),
        1: (
            "material", "crystal", "coating", "晶体",
        ),
    },
    "physics": {
        3: (
            "=physics", "physicist", "quantum mechanics", "quantum physics",
            "particle accelerator", "collider", "Higgs", "boson", "neutrino", "quark",
            "superconductivity", "superconductor", "condensed matter", "=relativity",
            "synchrotron", "CERN", "LHC", "物理", "对撞机", "中微子", "超导", "凝聚态", "同步辐射",
            "散裂中子源",
        ),
        2: (
            "quantum", "laser", "photon", "photonics", "optics", "entanglement", "qubit",
            "neutron", "electron", "gravitational wave", "dark matter", "thermodynamics",
            "plasma physics", "量子", "粒子", "暗物质", "引力波", "激光", "光子", "中子",
            "等离子体",
        ),
        1: (
            "atom", "magnetic field", "x-ray", "原子", "磁场",
        ),
    },
    "chemistry": {
        3: (
            "chemistry", "chemist", "electrochemistry", "photocatalysis", "catalysis", "化学",
            "催化",
        ),
        2: (
            "chemical", "catalytic", "electrochemical", "spectroscopy", "crystallography", "NMR",
            "mass spectrometry", "solvent", "oxidation", "ammonia", "periodic table", "化合物",
            "溶剂", "光谱",
        ),
        1: (
            "molecule", "catalyst", "synthesis", "compound", "reaction", "isotope", "分子", "有机",
        ),
    },
    "space": {
        3: (
            "astronomy", "astronomer", "astrophysics", "astronaut", "spacecraft", "space station",
            "space telescope", "space exploration", "outer space", "spaceflight", "space agency",
            "NASA", "CNSA", "SpaceX", "telescope", "galaxy", "exoplanet", "lunar", "cosmology",
            "black hole", "supernova", "asteroid", "comet", "solar system", "dark energy",
            "James Webb", "Hubble", "=Chang'e", "Tiangong", "Jupiter", "Saturn", "航天", "天文",
            "空间站", "探月", "月球", "火星", "嫦娥", "天宫", "天问", "星系", "黑洞", "太空",
            "行星", "深空", "宇航员",
        ),
        2: (
            "satellite", "orbit", "rocket", "launch vehicle", "planet", "=mars", "moon",
            "=universe", "cosmic", "dark matter", "gravitational wave", "ESA", "remote sensing",
            "space medicine", "space program", "space programme", "space mission", "space science",
            "space technology", "space industry", "卫星", "火箭", "银河", "宇宙", "遥感", "望远镜",
        ),
        1: (
            "stellar", "stars", "星空",
        ),
    },
    "agrifood": {
        3: (
            "agriculture", "agronomy", "crop yield", "livestock", "food security", "food science",
            "plant breeding", "aquaculture", "alternative protein", "cultivated meat",
            "cultured meat", "animal husbandry", "horticulture", "genetically modified crop",
            "农业", "粮食", "作物", "育种", "种业", "水稻", "小麦", "玉米", "畜牧", "食品科学",
        ),
        2: (
            "crop", "farming", "farmer", "rice", "wheat", "maize", "soybean", "fisheries",
            "fertilizer", "fertiliser", "pesticide", "irrigation", "plant-based", "future food",
            "food safety", "veterinary", "GMO", "plant science", "大豆", "养殖", "渔业", "化肥",
            "农药", "食品", "转基因",
        ),
        1: (
            "food", "soil", "nutrition", "harvest", "seed", "breeding", "土壤", "农民",
        ),
    },
    "science-policy": {
        3: (
            "science policy", "research funding", "science funding", "research infrastructure",
            "scientific infrastructure", "scientific infrastructures", "technology transfer",
            "science diplomacy", "open science", "research integrity",
            "science and technology policy", "科技政策", "科研经费", "科学基金", "大科学装置",
            "科技基础设施", "技术转移", "成果转化", "科研诚信", "开放科学",
        ),
        2: (
            "international cooperation", "international collaboration", "scientific cooperation",
            "scientific collaboration", "big science", "large-scale facilities", "open access",
            "peer review", "ministry of science", "science foundation", "policymaker",
            "science park", "science city", "cooperation agreement", "joint laboratory",
            "brain drain", "spending bill", "appropriations bill", "=appropriators",
            "budget request", "budget proposal", "federal funding", "science budget",
            "research budget", "国际合作", "科技合作", "科技部", "国家自然科学基金",
        ),
        1: (
            "collaboration", "cooperation", "infrastructure", "policy", "funding", "grant",
            "talent", "budget", "fiscal year", "academy of sciences", "commercialization",
            "commercialisation", "innovation", "R&D", "research and development", "基础设施",
            "合作", "科学院", "人才", "政策", "创新",
        ),
    },
}
# fmt: on

# Hiragana, katakana and the CJK ideograph blocks: scripts written without spaces.
_CJK_RANGES = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff"
# Words, or a run of punctuation (with the spaces in it) that ends a phrase; hyphens,
# slashes and apostrophes join words instead.
_TOKEN = re.compile(r"(\w+)|[^\w\s'’/-][^\w'’/-]*")
_CJK_CHAR = re.compile(f"[{_CJK_RANGES}]")
_CJK_PIECE = re.compile(f"[{_CJK_RANGES}]|[^{_CJK_RANGES}]+")
_HAS_TOKEN = re.compile(rf"[^\W_]|[{_CJK_RANGES}]")
_BREAK = "\x00"  # a token no keyword contains: punctuation that ends a phrase
_QUOTES = str.maketrans(dict.fromkeys("“”„‟«»「」『』〝〞", '"') | dict.fromkeys("‘’`´", "'"))
_MINUS = "-−–—"  # phones turn "-" into dashes: all of them mean "exclude"
_LONGEST_STEMMED = 40


@dataclass(frozen=True, slots=True)
class _Document:
    stems: tuple[str, ...]  # stemmed words and single CJK characters, _BREAK between clauses
    words: tuple[str, ...]  # the same tokens unstemmed, for exact keywords
    index: Mapping[str, list[int]]  # stem -> positions in ``stems``
    size: float  # length in words; CJK characters count CJK_CHARS_PER_WORD to a word
    cjk_chars: int


@dataclass(frozen=True, slots=True)
class _Term:
    stems: tuple[str, ...]
    exact: tuple[str, ...] | None  # surface forms that must match too
    is_cjk: bool

    def count(self, doc: _Document) -> int:
        starts = doc.index.get(self.stems[0]) if self.stems else None
        if not starts:
            return 0
        n = len(self.stems)
        if n == 1 and self.exact is None:
            return len(starts)
        return sum(
            1
            for i in starts
            if doc.stems[i : i + n] == self.stems
            and (self.exact is None or doc.words[i : i + n] == self.exact)
        )


def topic_by_slug(slug: str) -> Topic | None:
    """The topic with this slug, or None for an unknown slug."""
    return _topics_by_slug().get(slug)


def hashtag(slug: str) -> str:
    """A Telegram hashtag for a topic slug: "precision-medicine" -> "#precision_medicine"."""
    return "#" + re.sub(r"\W", "_", slug)


def tag_topics(
    title: str, text: str, *, language: str | None = None, limit: int = 5
) -> list[TopicScore]:
    """The topics of an article, best first, at most ``limit``; possibly none.

    A topic's score adds up its keywords' weights: a title match counts TITLE_WEIGHT times
    the weight; body matches count weight * log2(1 + occurrences), so repeating one word
    adds little and several different keywords add a lot, and the body's sum is divided
    by sqrt(words / REFERENCE_WORDS) for bodies longer than that. Weak keywords add at
    most WEAK_CAP together. Topics scoring below MIN_SCORE are dropped.

    ``language`` (ISO 639-1) is a hint: when it names a language other than Chinese or
    Japanese, Chinese keywords are skipped, so a stray language switcher ("中文") in an
    English page is not evidence.
    """
    if limit <= 0:
        return []
    head = _document(title)
    body = _document(text)
    with_cjk = _reads_cjk(language)
    damping = math.sqrt(max(body.size, REFERENCE_WORDS) / REFERENCE_WORDS)
    scored: list[TopicScore] = []
    for topic in TOPICS:
        strong = weak = 0.0
        for term, weight in _topic_terms(topic.slug):
            if term.is_cjk and not with_cjk:
                continue
            evidence = TITLE_WEIGHT * weight * (term.count(head) > 0)
            hits = term.count(body)
            if hits:
                evidence += weight * math.log2(1 + hits) / damping
            if weight > 1:
                strong += evidence
            else:
                weak += evidence
        score = round(strong + min(weak, WEAK_CAP), 3)
        if score >= MIN_SCORE:
            scored.append(TopicScore(topic.slug, score))
    # sorted() is stable: ties keep the taxonomy's display order.
    return sorted(scored, key=lambda s: -s.score)[:limit]


@dataclass(frozen=True, slots=True)
class KeywordRule:
    """A subscription filter: an article matches when ANY include term occurs in its title
    or text and NO exclude term does.

    Terms are words or phrases, kept normalised (NFKC, case-folded, single spaces);
    matching is case-insensitive and stemmed, Chinese terms match as substrings. Build one
    with ``parse_rule``; ``str(rule)`` is the canonical query and parses back to ``rule``.
    """

    include_terms: tuple[str, ...]
    exclude_terms: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        include = _unique(_normalize_term(t) for t in self.include_terms)
        exclude = _unique(_normalize_term(t) for t in self.exclude_terms)
        include = tuple(t for t in include if _HAS_TOKEN.search(t))
        exclude = tuple(t for t in exclude if _HAS_TOKEN.search(t))
        if not include:
            raise RuleError("a rule needs at least one word or phrase to look for")
        if len(include) + len(exclude) > MAX_RULE_TERMS:
            raise RuleError(f"a rule holds at most {MAX_RULE_TERMS} words or phrases")
        both = set(include) & set(exclude)
        if both:
            raise RuleError(f"{sorted(both)[0]!r} is both wanted and excluded")
        object.__setattr__(self, "include_terms", include)
        object.__setattr__(self, "exclude_terms", exclude)
        if len(str(self)) > MAX_RULE_CHARS:
            raise RuleError(f"a rule is at most {MAX_RULE_CHARS} characters long")

    def __str__(self) -> str:
        parts = [_quote(t) for t in self.include_terms]
        parts += ["-" + _quote(t) for t in self.exclude_terms]
        return " ".join(parts)

    def matches(self, title: str, text: str) -> bool:
        docs = (_document(title), _document(text))

        def found(term: str) -> bool:
            compiled = _rule_term(term)
            return any(compiled.count(doc) for doc in docs)

        return any(found(t) for t in self.include_terms) and not any(
            found(t) for t in self.exclude_terms
        )


def parse_rule(query: str) -> KeywordRule:
    """A keyword rule from a subscriber's query.

    Syntax: words (``crispr``), "quoted phrases" (``"gene editing"``), and a leading minus
    to exclude a word or phrase (``-plants``, ``-"gene drive"``). Typographic quotes and
    dashes count as their ASCII forms; an unclosed quote runs to the end of the query;
    terms without a letter, digit or CJK character are ignored. Raises RuleError for an
    empty query, one with only exclusions, more than MAX_RULE_TERMS terms or more than
    MAX_RULE_CHARS characters.
    """
    if len(query) > MAX_RULE_CHARS:
        raise RuleError(f"a rule is at most {MAX_RULE_CHARS} characters long")
    include: list[str] = []
    exclude: list[str] = []
    for excluded, term in _split_query(query.translate(_QUOTES)):
        (exclude if excluded else include).append(term)
    return KeywordRule(tuple(include), tuple(exclude))


def _split_query(query: str) -> Iterator[tuple[bool, str]]:
    i, n = 0, len(query)
    while i < n:
        if query[i].isspace():
            i += 1
            continue
        excluded = query[i] in _MINUS and i + 1 < n and not query[i + 1].isspace()
        if excluded:
            i += 1
            while i < n and query[i] in _MINUS:
                i += 1
        if i < n and query[i] == '"':
            end = query.find('"', i + 1)
            end = n if end < 0 else end
            yield excluded, query[i + 1 : end]
            i = end + 1
        else:
            start = i
            while i < n and not query[i].isspace() and query[i] != '"':
                i += 1
            yield excluded, query[start:i]


def _normalize_term(term: str) -> str:
    folded = unicodedata.normalize("NFKC", term).translate(_QUOTES).casefold()
    return " ".join(folded.replace('"', " ").split())


def _quote(term: str) -> str:
    if any(c.isspace() for c in term) or term[0] in _MINUS:
        return f'"{term}"'
    return term


def _unique(terms: Iterator[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(terms))


def _reads_cjk(language: str | None) -> bool:
    if not language:
        return True
    return language.strip().lower()[:2] in {"zh", "ja"}


def _build_document(text: str) -> _Document:
    # NFKC folds full-width forms ("ＡＩ") and ligatures; casefold is lower() for all scripts.
    folded = unicodedata.normalize("NFKC", text[:MAX_TEXT_CHARS]).casefold()
    if folded.isascii():
        words = [word or _BREAK for word in _TOKEN.findall(folded)]
        cjk = 0
    else:
        words = []
        for word in _TOKEN.findall(folded):
            if not word:
                words.append(_BREAK)
            elif word.isascii():
                words.append(word)
            else:
                # \w+ runs CJK into neighbouring letters ("用crispr编辑"): split them apart.
                words.extend(_CJK_PIECE.findall(word))
        cjk = len(_CJK_CHAR.findall(folded))
    stem = _stemmer()
    stems = [stem(word) for word in words]
    index: dict[str, list[int]] = {}
    for position, token in enumerate(stems):
        index.setdefault(token, []).append(position)
    latin = len(words) - cjk - len(index.get(_BREAK, ()))
    return _Document(
        stems=tuple(stems),
        words=tuple(words),
        index=index,
        size=latin + cjk / CJK_CHARS_PER_WORD,
        cjk_chars=cjk,
    )


def _document(text: str) -> _Document:
    # Key the cache on the part that is read, so it never keeps a huge text alive.
    return _cached_document(text[:MAX_TEXT_CHARS])


# Subscription matching tests many rules against one article: keep its last few documents.
@lru_cache(maxsize=16)
def _cached_document(text: str) -> _Document:
    return _build_document(text)


def _compile(keyword: str) -> _Term:
    exact = keyword.startswith("=")
    doc = _build_document(keyword.removeprefix("="))
    start, end = 0, len(doc.stems)
    while start < end and doc.stems[start] == _BREAK:
        start += 1
    while end > start and doc.stems[end - 1] == _BREAK:
        end -= 1
    return _Term(
        stems=doc.stems[start:end],
        exact=doc.words[start:end] if exact else None,
        is_cjk=doc.cjk_chars > 0,
    )


@cache
def _topic_terms(slug: str) -> tuple[tuple[_Term, float], ...]:
    # Keywords that stem alike ("genome", "genomics") are one keyword: keep the heaviest.
    weights: dict[_Term, float] = {}
    for weight, keywords in _KEYWORDS[slug].items():
        for keyword in keywords:
            term = _compile(keyword)
            weights[term] = max(weights.get(term, 0.0), float(weight))
    return tuple(weights.items())


@lru_cache(maxsize=4096)
def _rule_term(term: str) -> _Term:
    return _compile(term)


@cache
def _topics_by_slug() -> dict[str, Topic]:
    return {topic.slug: topic for topic in TOPICS}


@cache
def _stemmer() -> Callable[[str], str]:
    # Snowball needs no NLTK data; importing it costs ~0.3 s, so only on first use.
    from sumy.nlp.stemmers import Stemmer  # noqa: PLC0415 -- lazy: heavy import

    snowball: Callable[[str], str] = Stemmer("english")

    # Article vocabularies repeat: after warm-up nearly every word is a cache hit.
    @lru_cache(maxsize=65_536)
    def stem(word: str) -> str:
        # Longer "words" are identifiers or garbage: not worth stemming.
        return word if len(word) > _LONGEST_STEMMED else snowball(word)

    return stem
