"""Forward-only schema migrations of the ChainAtlas store.

Each migration is plain SQL that stays close to standard SQL, so the same schema can be
re-created on another engine. A store records the highest migration applied in ``meta``;
opening a store applies whatever is newer, in one transaction per migration.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    """One schema step: its version number, a one-line purpose and its SQL statements."""

    version: int
    purpose: str
    statements: tuple[str, ...]


_V1 = (
    """CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)""",
    """CREATE TABLE settings (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL,
        updated_at TIMESTAMP NOT NULL)""",
    # Provenance: one row per file read. Every data row points here through source_id.
    """CREATE TABLE sources (
        source_id INTEGER PRIMARY KEY,
        dataset VARCHAR NOT NULL,
        file VARCHAR NOT NULL,
        url VARCHAR,
        sha256 VARCHAR NOT NULL,
        bytes BIGINT NOT NULL,
        fetched_at TIMESTAMP,
        imported_at TIMESTAMP NOT NULL,
        rows_read BIGINT NOT NULL DEFAULT 0,
        rows_stored BIGINT NOT NULL DEFAULT 0)""",
    """CREATE TABLE regions (
        adcode VARCHAR PRIMARY KEY,
        name VARCHAR NOT NULL,
        level VARCHAR NOT NULL,
        parent VARCHAR,
        province_adcode VARCHAR NOT NULL,
        lon DOUBLE,
        lat DOUBLE,
        source_id INTEGER NOT NULL)""",
    """CREATE TABLE industries (
        scheme VARCHAR NOT NULL,
        code VARCHAR NOT NULL,
        name VARCHAR NOT NULL,
        level INTEGER NOT NULL,
        parent VARCHAR,
        remark VARCHAR,
        source_id INTEGER NOT NULL,
        PRIMARY KEY (scheme, code))""",
    """CREATE TABLE industry_upstream (
        industry_code VARCHAR NOT NULL,
        upstream_code VARCHAR NOT NULL,
        weight INTEGER NOT NULL,
        source_id INTEGER NOT NULL,
        PRIMARY KEY (industry_code, upstream_code))""",
    """CREATE TABLE companies (
        company_id VARCHAR PRIMARY KEY,
        origin VARCHAR NOT NULL,
        short_name VARCHAR,
        full_name VARCHAR,
        stock_code VARCHAR,
        exchange VARCHAR,
        uscc VARCHAR,
        region_adcode VARCHAR,
        province_adcode VARCHAR,
        city_adcode VARCHAR,
        address VARCHAR,
        registered_capital DOUBLE,
        setup_date DATE,
        listing_date DATE,
        employees INTEGER,
        revenue DOUBLE,
        industry_gbt VARCHAR,
        business_scope VARCHAR,
        location_source VARCHAR,
        source_id INTEGER NOT NULL,
        updated_at TIMESTAMP NOT NULL)""",
    """CREATE TABLE company_names (
        company_id VARCHAR NOT NULL,
        name VARCHAR NOT NULL,
        kind VARCHAR NOT NULL,
        source_id INTEGER NOT NULL,
        PRIMARY KEY (company_id, name))""",
    """CREATE TABLE company_industries (
        company_id VARCHAR NOT NULL,
        scheme VARCHAR NOT NULL,
        code VARCHAR NOT NULL,
        source_id INTEGER NOT NULL,
        PRIMARY KEY (company_id, scheme, code))""",
    # The three large tables carry no key constraints: building their indexes costs more
    # than the whole load, and the ingest deduplicates by construction (tested).
    """CREATE TABLE products (
        product_id INTEGER NOT NULL,
        name VARCHAR NOT NULL,
        kind VARCHAR NOT NULL,
        source_id INTEGER NOT NULL)""",
    """CREATE TABLE company_products (
        company_id VARCHAR NOT NULL,
        product_id INTEGER NOT NULL,
        revenue_share DOUBLE,
        negative_share BOOLEAN NOT NULL,
        source_id INTEGER NOT NULL)""",
    """CREATE TABLE product_relations (
        from_product INTEGER NOT NULL,
        to_product INTEGER NOT NULL,
        relation VARCHAR NOT NULL,
        source_id INTEGER NOT NULL)""",
    # Every row an ingest rejected, merged, repaired or flagged, with the reason.
    """CREATE TABLE ingest_issues (
        source_id INTEGER NOT NULL,
        file VARCHAR NOT NULL,
        line BIGINT,
        field VARCHAR,
        kind VARCHAR NOT NULL,
        action VARCHAR NOT NULL,
        detail VARCHAR NOT NULL)""",
    """CREATE TABLE company_history (
        company_id VARCHAR NOT NULL,
        field VARCHAR NOT NULL,
        old_value VARCHAR,
        new_value VARCHAR,
        changed_at TIMESTAMP NOT NULL,
        source_id INTEGER NOT NULL)""",
)

_V2 = (
    # A roster firm that is also a listed firm points at it, so counts do not double it.
    "ALTER TABLE companies ADD COLUMN same_as VARCHAR",
    "ALTER TABLE companies ADD COLUMN capital_currency VARCHAR",
)

_V3 = (
    """CREATE TABLE chains (
        chain_id VARCHAR PRIMARY KEY,
        name_zh VARCHAR NOT NULL,
        name_en VARCHAR NOT NULL,
        description_zh VARCHAR,
        path VARCHAR NOT NULL,
        sha256 VARCHAR NOT NULL,
        loaded_at TIMESTAMP NOT NULL)""",
    """CREATE TABLE chain_nodes (
        chain_id VARCHAR NOT NULL,
        node_id VARCHAR NOT NULL,
        name_zh VARCHAR NOT NULL,
        name_en VARCHAR NOT NULL,
        stage VARCHAR NOT NULL,
        parent VARCHAR,
        level INTEGER NOT NULL,
        is_leaf BOOLEAN NOT NULL,
        ord INTEGER NOT NULL,
        PRIMARY KEY (chain_id, node_id))""",
    """CREATE TABLE chain_edges (
        chain_id VARCHAR NOT NULL,
        source VARCHAR NOT NULL,
        target VARCHAR NOT NULL,
        note_zh VARCHAR,
        PRIMARY KEY (chain_id, source, target))""",
    # Classifier output, rebuilt by every classification run. evidence is JSON text.
    """CREATE TABLE placements (
        company_id VARCHAR NOT NULL,
        chain_id VARCHAR NOT NULL,
        node_id VARCHAR NOT NULL,
        confidence DOUBLE NOT NULL,
        method VARCHAR NOT NULL,
        evidence VARCHAR NOT NULL,
        classified_at TIMESTAMP NOT NULL)""",
    # Analysts' corrections: never rebuilt, never overridden by the classifier.
    """CREATE TABLE corrections (
        correction_id INTEGER PRIMARY KEY,
        company_id VARCHAR NOT NULL,
        chain_id VARCHAR NOT NULL,
        node_id VARCHAR NOT NULL,
        action VARCHAR NOT NULL,
        reason VARCHAR NOT NULL,
        author VARCHAR NOT NULL,
        created_at TIMESTAMP NOT NULL,
        active BOOLEAN NOT NULL DEFAULT true)""",
    # Placements as analysts see them: the classifier's, less active unassignments,
    # plus active assignments (confidence 1, method 'manual').
    """CREATE VIEW firm_nodes AS
        SELECT p.company_id, p.chain_id, p.node_id, p.confidence, p.method, p.evidence
        FROM placements p WHERE NOT EXISTS (
            SELECT 1 FROM corrections c WHERE c.active AND c.company_id = p.company_id
            AND c.chain_id = p.chain_id AND c.node_id = p.node_id)
        UNION ALL
        SELECT company_id, chain_id, node_id, 1.0, 'manual',
            json_object('correction', json_object('id', correction_id, 'reason', reason,
                'author', author, 'at', strftime(created_at, '%Y-%m-%dT%H:%M:%S')))::VARCHAR
        FROM corrections WHERE active AND action = 'assign'""",
)

_V4 = (
    # Derived tables, rebuilt after every classification or correction, so regional
    # queries read one narrow table instead of expanding node subtrees each time.
    # chain_firms: one row per (chain, node, firm) with the node's whole subtree folded in.
    """CREATE TABLE chain_firms (
        chain_id VARCHAR NOT NULL,
        node_id VARCHAR NOT NULL,
        company_id VARCHAR NOT NULL,
        confidence DOUBLE NOT NULL,
        direct BOOLEAN NOT NULL,
        origin VARCHAR NOT NULL,
        first_year INTEGER,
        province_adcode VARCHAR,
        city_adcode VARCHAR,
        region_adcode VARCHAR)""",
    # firm_supply: supplier -> buyer when a product of the supplier is an upstream
    # material of a product of the buyer; weight = sum of share products.
    """CREATE TABLE firm_supply (
        supplier VARCHAR NOT NULL,
        buyer VARCHAR NOT NULL,
        weight DOUBLE NOT NULL,
        relations INTEGER NOT NULL,
        examples VARCHAR)""",
    """CREATE TABLE chain_centrality (
        chain_id VARCHAR NOT NULL,
        company_id VARCHAR NOT NULL,
        pagerank DOUBLE NOT NULL)""",
)

_V5 = (
    # The firm-product weight rule, in one place: a firm's products (kind 'product', no
    # negative share) weigh their revenue share; when none has a positive share, each of
    # the n counts 1/n. With some positive share, missing or zero shares weigh 0 (the rows
    # stay: the supply graph counts their product relations). Classification, the supply
    # graph and firm links all read weights here.
    """CREATE VIEW product_weights AS
        SELECT cp.company_id, cp.product_id, cp.revenue_share,
            CASE WHEN max(coalesce(cp.revenue_share, 0))
                          OVER (PARTITION BY cp.company_id) > 0
                 THEN coalesce(cp.revenue_share, 0)
                 ELSE 1.0 / count(*) OVER (PARTITION BY cp.company_id) END AS w
        FROM company_products cp JOIN products p ON p.product_id = cp.product_id
        WHERE p.kind = 'product' AND coalesce(cp.revenue_share, 0) >= 0""",
    # The products behind each classifier placement (the product signal's evidence), as
    # rows: written by every classification run next to ``placements``.
    """CREATE TABLE placement_products (
        company_id VARCHAR NOT NULL,
        chain_id VARCHAR NOT NULL,
        node_id VARCHAR NOT NULL,
        product VARCHAR NOT NULL,
        share DOUBLE NOT NULL)""",
    # Placement products as analysts see them: like ``firm_nodes``, an active correction
    # of the (firm, chain, node) voids the classifier's placement, so its products no
    # longer count (a manual assignment names no products).
    """CREATE VIEW firm_node_products AS
        SELECT pp.company_id, pp.chain_id, pp.node_id, pp.product, pp.share
        FROM placement_products pp WHERE NOT EXISTS (
            SELECT 1 FROM corrections c WHERE c.active AND c.company_id = pp.company_id
            AND c.chain_id = pp.chain_id AND c.node_id = pp.node_id)""",
    # Stores classified before this migration: the rows come from the placements' JSON
    # evidence once, here; nothing reads product evidence from JSON afterwards.
    """INSERT INTO placement_products
        SELECT p.company_id, p.chain_id, p.node_id, u.x.product, u.x.share
        FROM placements p, unnest(from_json(json_extract(p.evidence, '$.products'),
            '[{"product": "VARCHAR", "share": "DOUBLE"}]')) AS u(x)
        WHERE p.evidence LIKE '%"products"%'""",
)

_V6 = (
    # Enterprise-registry firms (origin 'registry'): the fields a registration carries.
    # registered_capital stays the CNY figure in 万 every ranking reads; capital_amount is
    # the amount in 万 of capital_currency as registered.
    "ALTER TABLE companies ADD COLUMN registration_no VARCHAR",
    "ALTER TABLE companies ADD COLUMN enterprise_type VARCHAR",
    "ALTER TABLE companies ADD COLUMN legal_rep VARCHAR",
    "ALTER TABLE companies ADD COLUMN capital_amount DOUBLE",
    "ALTER TABLE companies ADD COLUMN is_branch BOOLEAN",
    "ALTER TABLE companies ADD COLUMN parent_name VARCHAR",
    "ALTER TABLE companies ADD COLUMN parent_id VARCHAR",
    "ALTER TABLE companies ADD COLUMN is_individual BOOLEAN",
)

_V7 = (
    # The revenue share of the products that place a firm on a node (or below it), capped
    # at 1; NULL for placements without product evidence. A side line (under
    # chains.placements.PRIMARY_SHARE) never makes a firm a node's leader. Filled by the
    # next refresh of chain_firms (build, classification or correction).
    "ALTER TABLE chain_firms ADD COLUMN product_share DOUBLE",
)

_V8 = (
    # Who may read and write (issue 10). Roles: viewer, analyst, admin. Only argon2 hashes
    # of passwords are kept; a disabled user keeps its row (the audit log names it).
    """CREATE TABLE users (
        name VARCHAR PRIMARY KEY,
        role VARCHAR NOT NULL,
        password_hash VARCHAR NOT NULL,
        disabled BOOLEAN NOT NULL DEFAULT false,
        created_at TIMESTAMP NOT NULL,
        updated_at TIMESTAMP NOT NULL)""",
    # API tokens for scripts: the sha256 of the token, never the token itself. No
    # last-used column: it would cost a write per request.
    """CREATE TABLE api_tokens (
        token_id INTEGER PRIMARY KEY,
        token_sha256 VARCHAR NOT NULL UNIQUE,
        user_name VARCHAR NOT NULL,
        label VARCHAR,
        created_at TIMESTAMP NOT NULL,
        revoked_at TIMESTAMP)""",
    # Every write: who (a user, a token's user or 'cli:<os user>'), when (UTC), what, and
    # the row before and after as JSON text (NULL for none). Never holds password hashes.
    """CREATE TABLE audit_log (
        id BIGINT PRIMARY KEY,
        "at" TIMESTAMP NOT NULL,
        actor VARCHAR NOT NULL,
        action VARCHAR NOT NULL,
        target VARCHAR NOT NULL,
        "before" VARCHAR,
        "after" VARCHAR)""",
)

_V9 = (
    # What a node's firms do (chains.templates.KINDS): production, trade, retail, service,
    # operator. Chain-wide leaders and 招商 targets come from production nodes only.
    "ALTER TABLE chain_nodes ADD COLUMN kind VARCHAR NOT NULL DEFAULT 'production'",
)

_V10 = (
    # The 2025 SZSE A-share list seen against the 2021 chainkg firms (risk flags, analysis.
    # risk): the A股简称 there (an ST/*ST prefix added since 2021 shows here) and whether
    # the Shenzhen code is still listed. NULL where the list does not speak: Shanghai and
    # Beijing codes, unlisted firms, stores built before this migration.
    "ALTER TABLE companies ADD COLUMN short_name_2025 VARCHAR",
    "ALTER TABLE companies ADD COLUMN in_szse_2025 BOOLEAN",
)

_V11 = (
    # The project ledger (招商项目库, issue 13). ``project_events`` is the record: append
    # only, one row per change (who, when, the fields from -> to, why). ``projects`` holds
    # each project's current state, derived from its events and rewritten in the same
    # transaction as every event (replaying the events gives the row back: tested);
    # ``version`` is the number of the project's events, what a concurrent edit is checked
    # against. Amounts are 万元, exact decimals: agreed (协议投资), planned this year
    # (年度计划投资), completed (完成投资) and funds in place (到位资金) are four figures.
    """CREATE TABLE projects (
        project_id INTEGER PRIMARY KEY,
        code VARCHAR UNIQUE,
        name VARCHAR NOT NULL,
        investor_name VARCHAR,
        investor_company_id VARCHAR,
        region_adcode VARCHAR NOT NULL,
        park VARCHAR,
        chain_id VARCHAR,
        node_id VARCHAR,
        agreed_wan DECIMAL(18, 4),
        planned_year_wan DECIMAL(18, 4),
        completed_wan DECIMAL(18, 4),
        in_place_wan DECIMAL(18, 4),
        owner VARCHAR,
        stage VARCHAR NOT NULL,
        stage_since DATE NOT NULL,
        paused BOOLEAN NOT NULL DEFAULT false,
        ended BOOLEAN NOT NULL DEFAULT false,
        lead_date DATE,
        signed_date DATE,
        planned_start_date DATE,
        started_date DATE,
        planned_production_date DATE,
        production_date DATE,
        note VARCHAR,
        reasons VARCHAR,
        origin VARCHAR NOT NULL,
        version INTEGER NOT NULL,
        created_at TIMESTAMP NOT NULL,
        updated_at TIMESTAMP NOT NULL)""",
    """CREATE TABLE project_events (
        event_id BIGINT PRIMARY KEY,
        project_id INTEGER NOT NULL,
        version INTEGER NOT NULL,
        kind VARCHAR NOT NULL,
        "at" TIMESTAMP NOT NULL,
        effective DATE NOT NULL,
        actor VARCHAR NOT NULL,
        changes VARCHAR NOT NULL,
        reason VARCHAR,
        UNIQUE (project_id, version))""",
    # Industry targets (产业目标) and their monthly values (snapshots), so progress, year-on-
    # year figures and time progress (时序进度) can be read for any month.
    """CREATE TABLE targets (
        target_id INTEGER PRIMARY KEY,
        name VARCHAR NOT NULL,
        indicator VARCHAR NOT NULL,
        region_adcode VARCHAR NOT NULL,
        chain_id VARCHAR,
        node_id VARCHAR,
        unit VARCHAR NOT NULL,
        base_year INTEGER NOT NULL,
        base_value DECIMAL(20, 4),
        target_value DECIMAL(20, 4) NOT NULL,
        period_start DATE NOT NULL,
        period_end DATE NOT NULL,
        source VARCHAR,
        owner VARCHAR,
        version INTEGER NOT NULL,
        created_at TIMESTAMP NOT NULL,
        updated_at TIMESTAMP NOT NULL)""",
    """CREATE TABLE target_snapshots (
        target_id INTEGER NOT NULL,
        month DATE NOT NULL,
        value DECIMAL(20, 4) NOT NULL,
        origin VARCHAR NOT NULL,
        actor VARCHAR NOT NULL,
        recorded_at TIMESTAMP NOT NULL,
        note VARCHAR,
        PRIMARY KEY (target_id, month))""",
    # Saved lists of 招商 target firms (招商清单), each item keeping the reasons it was
    # recommended for and, once turned into a lead, the project it became.
    """CREATE TABLE lead_lists (
        list_id INTEGER PRIMARY KEY,
        name VARCHAR NOT NULL UNIQUE,
        region_adcode VARCHAR,
        chain_id VARCHAR,
        note VARCHAR,
        owner VARCHAR NOT NULL,
        created_at TIMESTAMP NOT NULL)""",
    """CREATE TABLE lead_list_items (
        list_id INTEGER NOT NULL,
        company_id VARCHAR NOT NULL,
        node_id VARCHAR,
        score DOUBLE,
        reasons VARCHAR,
        note VARCHAR,
        project_id INTEGER,
        added_by VARCHAR NOT NULL,
        added_at TIMESTAMP NOT NULL,
        PRIMARY KEY (list_id, company_id))""",
    # Where an analyst may write the ledger: no row, anywhere; rows, only inside one of
    # them (a region and its subdivisions, or one park of it).
    """CREATE TABLE user_scopes (
        user_name VARCHAR NOT NULL,
        region_adcode VARCHAR NOT NULL,
        park VARCHAR NOT NULL DEFAULT '',
        PRIMARY KEY (user_name, region_adcode, park))""",
)

_V12 = (
    # Policy intake (issue 14): a text read into a draft, each item with its exact span,
    # reviewed one by one (proposed → accepted / edited / rejected). An accepted target
    # becomes a ledger target (``result``: target:<id>), an accepted direction a priority
    # node, which raises the node in node recommendations with its source sentence.
    """CREATE TABLE intake_drafts (
        draft_id INTEGER PRIMARY KEY,
        name VARCHAR NOT NULL,
        region_adcode VARCHAR,
        year INTEGER,
        text VARCHAR NOT NULL,
        sha256 VARCHAR NOT NULL,
        created_by VARCHAR NOT NULL,
        created_at TIMESTAMP NOT NULL)""",
    """CREATE TABLE intake_items (
        draft_id INTEGER NOT NULL,
        item_id INTEGER NOT NULL,
        kind VARCHAR NOT NULL,
        start_at INTEGER NOT NULL,
        end_at INTEGER NOT NULL,
        payload VARCHAR NOT NULL,
        status VARCHAR NOT NULL DEFAULT 'proposed',
        edited VARCHAR,
        result VARCHAR,
        reviewed_by VARCHAR,
        reviewed_at TIMESTAMP,
        PRIMARY KEY (draft_id, item_id))""",
    """CREATE TABLE priority_nodes (
        region_adcode VARCHAR NOT NULL,
        chain_id VARCHAR NOT NULL,
        node_id VARCHAR NOT NULL,
        source VARCHAR NOT NULL,
        sentence VARCHAR,
        draft_id INTEGER,
        added_by VARCHAR NOT NULL,
        added_at TIMESTAMP NOT NULL,
        PRIMARY KEY (region_adcode, chain_id, node_id))""",
)

_V13 = (
    # Batch-pipeline runs (issue 15): a run's city x node figures, imported from its Parquet
    # outputs (DuckDB or Spark) so the web app and the CLI read national-scale results.
    """CREATE TABLE pipeline_runs (
        run_id INTEGER PRIMARY KEY,
        location VARCHAR NOT NULL,
        firms BIGINT NOT NULL,
        placed BIGINT NOT NULL,
        imported_by VARCHAR NOT NULL,
        imported_at TIMESTAMP NOT NULL)""",
    """CREATE TABLE pipeline_city_node (
        run_id INTEGER NOT NULL,
        city_adcode VARCHAR NOT NULL,
        chain_id VARCHAR NOT NULL,
        node_id VARCHAR NOT NULL,
        firms BIGINT NOT NULL,
        city_firms BIGINT NOT NULL,
        node_firms BIGINT NOT NULL,
        all_firms BIGINT NOT NULL,
        lq DOUBLE NOT NULL,
        density DOUBLE,
        PRIMARY KEY (run_id, city_adcode, chain_id, node_id))""",
)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "regions, industries, companies, products, provenance", _V1),
    Migration(2, "roster firms: link to listed twins, capital currency", _V2),
    Migration(3, "chain templates, firm placements, analysts' corrections", _V3),
    Migration(4, "derived tables for regional queries: chain firms, supply graph", _V4),
    Migration(5, "product weights, placement products (no evidence JSON parsing)", _V5),
    Migration(6, "enterprise-registry fields of companies", _V6),
    Migration(7, "share of the placing products per chain firm and node", _V7),
    Migration(8, "users, API tokens and the audit log", _V8),
    Migration(9, "the kind of a chain node (production, trade, retail, service, operator)",
              _V9),
    Migration(10, "2025 SZSE list: A-share short name, still listed (risk flags)", _V10),
    Migration(11, "project ledger, industry targets, 招商 lists, analysts' scopes", _V11),
    Migration(12, "policy intake drafts and their items, priority nodes", _V12),
    Migration(13, "batch-pipeline runs and their city x node figures", _V13),
)

SCHEMA_VERSION = MIGRATIONS[-1].version
