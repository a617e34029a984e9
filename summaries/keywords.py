"""Keywords: the curated English and Chinese vocabulary of every topic, and its scorer.

Each topic owns weighted keywords: 3 names the topic outright ("CRISPR", "合成生物"), 2 is
typical of it, 1 is weak or ambiguous evidence that only counts together with more, and a
negative weight is a veto: a phrase that contains a keyword of the topic but means
something else ("遗传算法", a genetic algorithm, holds "遗传", genetic). A leading "=" means
the exact word, unstemmed: Snowball folds "physics" into "physical", "universe" into
"university", "Mars" into "mar".

``keyword_scores`` is the keyword tagger: precise on short titles and the only evidence for
topics the learned model (``summaries.tagger``) has no training data for. Matching is the
one of ``summaries.terms``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

from summaries.terms import Document, Term, compile_term, document

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
        # Vetoes: computing terms that contain a genomics keyword ("遗传" in "遗传算法").
        -2: (
            "genetic algorithm", "genetic programming", "遗传算法", "遗传规划", "基因表达式编程",
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
            "climate change", "气候", "全球变暖", "温室气体", "碳排放", "碳中和", "碳达峰",
            "生物多样性",
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
            "行星", "深空", "宇航员", "恒星", "银河系", "天体", "巡天", "类星体", "脉冲星",
            "红巨星", "白矮星", "中子星", "星云", "射电", "望远镜", "天文台",
        ),
        2: (
            "satellite", "orbit", "rocket", "launch vehicle", "planet", "=mars", "moon",
            "=universe", "cosmic", "dark matter", "gravitational wave", "ESA", "remote sensing",
            "space medicine", "space program", "space programme", "space mission", "space science",
            "space technology", "space industry", "卫星", "火箭", "银河", "宇宙", "遥感",
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
    "health": {
        3: (
            "public health", "epidemiology", "epidemiological", "clinical medicine",
            "traditional Chinese medicine", "World Health Organization", "hospital", "physician",
            "nursing", "mortality", "cardiovascular", "diabetes", "obesity", "hypertension",
            "vaccination", "surgery", "surgical", "dentistry", "dental", "pediatric", "paediatric",
            "randomized controlled trial", "randomised controlled trial", "cohort study",
            "公共卫生", "流行病学", "临床医学", "中医", "中药", "医院", "患者", "疾控", "针灸",
            "口腔医学", "护理", "卫生健康", "病人", "糖尿病", "高血压", "心血管",
        ),
        2: (
            "patient", "clinical", "disease", "diagnosis", "treatment", "therapy", "health care",
            "healthcare", "medical", "medicine", "cancer", "infection", "chronic", "symptom",
            "mental health", "cohort", "prevalence", "incidence", "randomized", "placebo",
            "pregnancy", "maternal", "doctor", "hospitalization", "hospitalisation", "stroke",
            "临床", "治疗", "诊断", "疾病", "医学", "医疗", "病例", "发病率", "死亡率", "手术",
            "慢性", "症状", "药物治疗", "疗效", "预防",
        ),
        1: (
            "health", "diet", "exercise", "sleep", "blood", "pain", "健康", "血", "儿童",
        ),
    },
    "ecology": {
        3: (
            "ecology", "ecologist", "ecological", "ecosystem", "biodiversity",
            "evolutionary biology", "natural selection", "conservation biology", "wildlife",
            "endangered species", "phylogenetic", "phylogeny", "speciation", "habitat loss",
            "invasive species", "coral reef", "生态学", "生态系统", "生物多样性", "物种",
            "野生动物", "濒危", "群落", "种群", "自然保护区", "进化生物学",
        ),
        2: (
            "species", "habitat", "predator", "prey", "population dynamics", "evolution",
            "evolutionary", "adaptation", "fauna", "flora", "forest", "pollinator", "bird", "birds",
            "insect", "mammal", "amphibian", "reptile", "animal behavior", "animal behaviour",
            "extinction", "生态", "栖息地", "植被", "鸟类", "昆虫", "森林", "湿地", "进化", "演化",
            "哺乳动物", "两栖",
        ),
        1: (
            "population", "nature", "plant", "animal", "植物", "动物", "自然",
        ),
    },
    "earth": {
        3: (
            "geology", "geologist", "geoscience", "earth science", "oceanography", "oceanographer",
            "seismology", "earthquake", "volcano", "volcanic", "tsunami", "plate tectonics",
            "tectonic", "meteorology", "meteorologist", "hurricane", "typhoon", "tornado",
            "landslide", "ocean current", "ocean circulation", "seafloor", "sea floor",
            "geophysics", "glaciology", "hydrology", "atmospheric science", "weather forecast",
            "地质", "地球科学", "海洋学", "海洋科学", "地震", "火山", "海啸", "板块", "气象",
            "台风", "暴雨", "滑坡", "泥石流", "洋流", "地球物理", "水文", "大气科学", "天气预报",
            "岩石", "矿床", "沉积",
        ),
        2: (
            "ocean", "weather", "rainfall", "precipitation", "flood", "flooding", "groundwater",
            "sediment", "rock", "mineral", "crust", "atmosphere", "atmospheric", "monsoon",
            "storm", "cyclone", "river", "erosion", "magma", "remote sensing", "glacier",
            "海洋", "降水", "降雨", "洪水", "地下水", "大气", "季风", "风暴", "河流", "侵蚀",
            "遥感", "地貌", "盆地", "构造", "储层", "冰川",
        ),
        1: (
            "sea", "coast", "coastal", "water", "wind", "ice", "soil", "海", "水", "土壤",
        ),
    },
    "cell-biology": {
        3: (
            "cell biology", "molecular biology", "biochemistry", "biochemical",
            "structural biology", "systems biology", "protein structure", "protein folding",
            "cryo-EM", "cryo-electron microscopy", "organelle", "mitochondria", "mitochondrial",
            "ribosome", "cell membrane", "cell division", "cell cycle", "signaling pathway",
            "signalling pathway", "signal transduction", "gene expression", "transcription factor",
            "apoptosis", "autophagy", "cytoskeleton", "细胞生物学", "分子生物学", "生物化学",
            "结构生物学", "系统生物学", "蛋白质结构", "线粒体", "核糖体", "细胞膜", "细胞周期",
            "信号通路", "基因表达", "转录因子", "细胞凋亡", "自噬", "冷冻电镜",
        ),
        2: (
            "protein", "proteins", "cell line", "cell type", "cell death", "cell growth",
            "human cells", "living cells", "immune cells", "receptor", "kinase", "membrane",
            "enzyme", "peptide", "metabolism", "lipid", "stem cell", "蛋白", "细胞", "受体",
            "激酶", "酶", "代谢", "分子机制",
        ),
        1: (
            "cell", "cells", "molecule", "molecular", "binding", "分子",
        ),
    },
    "math": {
        3: (
            "mathematics", "mathematician", "mathematical", "theorem", "conjecture",
            "statistician", "algebra", "algebraic", "topology", "geometry", "number theory",
            "combinatorics", "calculus", "prime number", "Fields Medal", "Abel Prize", "数学",
            "数学家", "定理", "猜想", "代数", "拓扑", "几何", "数论", "统计学", "概率论",
            "微分方程", "菲尔兹奖",
        ),
        2: (
            "statistics", "statistical", "equation", "proof", "probability", "stochastic",
            "lemma", "manifold", "polynomial", "integer", "matrix", "graph theory", "Bayesian",
            "regression", "方程", "证明", "概率", "统计", "矩阵", "多项式", "函数", "随机",
        ),
        1: (
            "numerical", "formula", "optimization", "optimisation", "公式", "数值", "优化",
        ),
    },
    "engineering": {
        3: (
            "civil engineering", "mechanical engineering", "electrical engineering", "robotics",
            "robot", "robotic", "autonomous vehicle", "self-driving", "power electronics",
            "control system", "aerospace engineering", "structural engineering",
            "additive manufacturing", "土木工程", "机械工程", "电气工程", "机器人", "自动驾驶",
            "无人机", "交通运输", "桥梁", "隧道", "轨道交通", "高铁", "控制系统", "电力系统",
            "数控", "液压",
        ),
        2: (
            "engineering", "engineer", "construction", "structural", "mechanical", "vehicle",
            "transport", "transportation", "traffic", "railway", "bridge", "tunnel", "sensor",
            "actuator", "circuit", "power system", "turbine", "engine", "manufacturing",
            "3D printing", "drone", "工程", "机械", "车辆", "交通", "铁路", "建筑", "传感器",
            "电路", "发动机", "制造", "施工", "控制",
        ),
        1: (
            "design", "machine", "device", "系统", "设备", "装置", "设计",
        ),
    },
    "social-science": {
        3: (
            "psychology", "psychologist", "economics", "economist", "sociology", "sociologist",
            "behavioral economics", "behavioural economics", "social science", "social sciences",
            "anthropology", "anthropologist", "心理学", "经济学", "社会学", "人类学", "社会科学",
            "行为经济",
        ),
        2: (
            "psychological", "economic", "economy", "social", "society", "behavior", "behaviour",
            "inequality", "poverty", "labor market", "labour market", "wages", "survey",
            "participants", "households", "GDP", "inflation", "unemployment", "well-being",
            "personality", "心理", "经济", "社会", "行为", "收入", "贫困", "就业", "消费", "企业",
            "管理",
        ),
        1: (
            "people", "public", "market", "income", "emotion", "市场", "居民",
        ),
    },
    "archaeology": {
        3: (
            "archaeology", "archeology", "archaeologist", "archaeological", "paleontology",
            "palaeontology", "paleontologist", "palaeontologist", "fossil", "dinosaur",
            "excavation", "ancient DNA", "hominin", "Neanderthal", "prehistoric", "Bronze Age",
            "Stone Age", "Neolithic", "Paleolithic", "Palaeolithic", "Iron Age", "pterosaur",
            "mammoth", "考古", "古生物", "化石", "恐龙", "遗址", "出土", "发掘", "新石器",
            "旧石器", "青铜器", "古人类", "墓葬", "文物",
        ),
        2: (
            "ancient", "artifact", "artefact", "tomb", "burial", "skeleton", "=ruins", "millennia",
            "Jurassic", "Cretaceous", "Triassic", "Cambrian", "extinct", "early humans",
            "pottery", "古代", "遗骸", "陶器", "侏罗纪", "白垩纪", "寒武纪", "灭绝",
        ),
        1: (
            "history", "bones", "remains", "cave", "历史",
        ),
    },
}
# fmt: on

# The register of research, in news about it and in papers: "researchers", "a study",
# "published in", "we propose", "研究", "本文". General news seldom uses it.
# fmt: off
_RESEARCH_WORDS = (
    "research", "researcher", "scientist", "scientific", "study", "studies", "experiment",
    "experimental", "laboratory", "university", "institute", "professor", "journal", "paper",
    "findings", "discovery", "propose", "method", "approach", "results", "analysis", "theory",
    "theoretical", "evidence", "hypothesis", "simulation", "measurement", "observed",
    "observation", "significant", "significantly", "dataset", "physicist", "biologist",
    "chemist", "engineer", "researchers", "published in", "peer-reviewed", "研究", "科学", "实验",
    "论文", "大学", "学者", "方法", "结果", "分析", "理论", "模型", "数据", "提出", "发现", "观测",
    "测量", "教授", "研究所", "实验室", "试验", "本文", "探讨", "表明", "采用", "基于", "机理",
    "规律", "特征", "效果", "影响因素", "技术",
)
# fmt: on


@dataclass(frozen=True, slots=True)
class _Keyword:
    term: Term
    slug: str
    weight: float


def keyword_scores(title: str, text: str, *, language: str | None = None) -> dict[str, float]:
    """Every topic's keyword score for an article (topics with no evidence are left out).

    A topic's score adds up its keywords' weights: a title match counts TITLE_WEIGHT times
    the weight; body matches count weight * log2(1 + occurrences), so repeating one word
    adds little and several different keywords add a lot, and the body's sum is divided
    by sqrt(words / REFERENCE_WORDS) for bodies longer than that. Weak keywords add at
    most WEAK_CAP together. A score of MIN_SCORE or more tags the topic on its own.

    ``language`` (ISO 639-1) is a hint: when it names a language other than Chinese or
    Japanese, Chinese keywords are skipped, so a stray language switcher ("中文") in an
    English page is not evidence.
    """
    head = document(title)
    body = document(text)
    with_cjk = _reads_cjk(language)
    damping = math.sqrt(max(body.size, REFERENCE_WORDS) / REFERENCE_WORDS)
    in_head = _hits(head, with_cjk=with_cjk)
    in_body = _hits(body, with_cjk=with_cjk)
    strong: dict[str, float] = {}
    weak: dict[str, float] = {}
    for keyword in in_head.keys() | in_body.keys():
        evidence = TITLE_WEIGHT * keyword.weight * (keyword in in_head)
        hits = in_body.get(keyword, 0)
        if hits:
            evidence += keyword.weight * math.log2(1 + hits) / damping
        bucket = weak if keyword.weight == 1 else strong
        bucket[keyword.slug] = bucket.get(keyword.slug, 0.0) + evidence
    scores = {}
    for slug in strong.keys() | weak.keys():
        score = round(strong.get(slug, 0.0) + min(weak.get(slug, 0.0), WEAK_CAP), 3)
        if score > 0:
            scores[slug] = score
    return scores


def research_mentions(title: str, text: str) -> int:
    """How many different words of the research register the article uses."""
    docs = (document(title), document(text))
    return sum(1 for term in _research_terms() if any(term.count(doc) for doc in docs))


def defining_terms(slug: str) -> tuple[Term, ...]:
    """The keywords that name a topic outright (weight 3)."""
    return tuple(k.term for k in _keywords() if k.slug == slug and k.weight == 3)


def _hits(doc: Document, *, with_cjk: bool) -> dict[_Keyword, int]:
    # Only keywords whose first token occurs in the document can match: look them up from
    # the document's own tokens instead of trying all ~2,000 keywords.
    found: dict[_Keyword, int] = {}
    by_first = _by_first_stem()
    for stem in doc.index:
        for keyword in by_first.get(stem, ()):
            if keyword.term.is_cjk and not with_cjk:
                continue
            count = keyword.term.count(doc)
            if count:
                found[keyword] = count
    return found


def _reads_cjk(language: str | None) -> bool:
    if not language:
        return True
    return language.strip().lower()[:2] in {"zh", "ja"}


@cache
def _keywords() -> tuple[_Keyword, ...]:
    # Keywords of one topic that stem alike ("genome", "genomics") are one keyword: keep
    # the heaviest (a veto keeps its own weight).
    weights: dict[tuple[str, Term], float] = {}
    for slug, vocabulary in _KEYWORDS.items():
        for weight, keywords in vocabulary.items():
            for keyword in keywords:
                key = (slug, compile_term(keyword))
                old = weights.get(key)
                if old is None or (weight > old > 0) or weight < 0:
                    weights[key] = float(weight)
    return tuple(_Keyword(term, slug, weight) for (slug, term), weight in weights.items())


@cache
def _research_terms() -> tuple[Term, ...]:
    return tuple(dict.fromkeys(compile_term(word) for word in _RESEARCH_WORDS))


@cache
def _by_first_stem() -> Mapping[str, tuple[_Keyword, ...]]:
    index: dict[str, list[_Keyword]] = {}
    for keyword in _keywords():
        if keyword.term.stems:
            index.setdefault(keyword.term.stems[0], []).append(keyword)
    return {stem: tuple(keywords) for stem, keywords in index.items()}
