"""The task centre (任务中心): my background jobs, their progress, downloads."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template, request, url_for
from flask_login import login_required

from app.core.auth import web_actor
from app.core.validators import page_number

from . import services
from .reconcile import reconcile
from .schemas import dump_job

bp = Blueprint("taskcentre", __name__)
PER_PAGE = 20


@bp.get("/jobs")
@login_required
def jobs():
    actor = web_actor()
    reconcile(owner_id=actor.id)  # a job whose worker died is handed out again (or failed) before it is shown
    page = services.my_jobs(actor, page_number(request.args.get("page")), PER_PAGE)
    return render_template("taskcentre/jobs.html", page=page, jobs=page.items,
                           running=any(j.status in ("queued", "running") for j in page.items))


@bp.get("/jobs/<int:job_id>/progress")
@login_required
def progress(job_id: int):
    job = services.visible_job(web_actor(), job_id)
    return jsonify(dump_job(job, url_for("taskcentre.download", job_id=job.id)))


@bp.get("/jobs/<int:job_id>/download")
@login_required
def download(job_id: int):
    return services.download(web_actor(), job_id)
